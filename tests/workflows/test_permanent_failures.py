"""A step that cannot succeed (bad data for the database) fails once, is never retried, and leaves
the process where an operator sees it: ProcessStatus=failed with the reason; the page that waits
for the answer is told what happened."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import DataError
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.worker import Worker

from activities.faults import PermanentFailures
from api.errors import message_for_update_failure
from domain.errors import MESSAGES
from domain.invoicing import InvoiceRecorded
from domain.personal_invoice import PersonalInvoiceInput
from tests.workflows.test_personal_invoice_workflow import application
from workflows.common import PROCESS_STATUS
from workflows.personal_invoice import PersonalInvoiceWorkflow

QUEUE = "permanent-failure-test"


async def test_a_data_error_fails_the_step_once_and_the_process_shows_failed(temporal_client: Client) -> None:
    attempts: list[str] = []

    @activity.defn(name="invoices.record_application")
    async def record_application(app: PersonalInvoiceInput) -> InvoiceRecorded:
        attempts.append(app.application_no)
        # what PostgreSQL says of a 10,000-character title in a 100-character column
        raise DataError("INSERT ...", {}, Exception("value too long for type character varying(100)"))

    worker = Worker(
        temporal_client,
        task_queue=QUEUE,
        workflows=[PersonalInvoiceWorkflow],
        activities=[record_application],
        interceptors=[PermanentFailures()],
    )
    async with worker:
        no = f"P{uuid.uuid4().hex[:12]}"
        handle = await temporal_client.start_workflow(
            PersonalInvoiceWorkflow.run, application(no), id=f"invoice-{no}", task_queue=QUEUE
        )
        try:
            await handle.execute_update(PersonalInvoiceWorkflow.submitted)
            raise AssertionError("the update must be refused")
        except WorkflowUpdateFailedError as err:
            assert message_for_update_failure(err) == ("ProcessFailed", MESSAGES["ProcessFailed"])
        assert await handle.result() == "failed"
    assert attempts == [no]  # once, not retried
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(PROCESS_STATUS) == "failed"
    history = await handle.fetch_history()
    assert any("value too long" in str(e) for e in history.events)
