"""A step that cannot succeed (bad data for the database) fails once, is never retried, and leaves
the process where an operator sees it: ProcessStatus=failed with the reason; the page that waits
for the answer is told what happened."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import DataError
from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.worker import Worker

from activities.faults import PermanentFailures
from api.errors import message_for_update_failure
from domain.errors import MESSAGES
from domain.invoicing import InvoiceRecorded
from domain.orders import OrderRecord
from domain.personal_invoice import PersonalInvoiceInput
from domain.unit_invoice import UnitInvoiceInput
from domain.unit_qualification import QualificationInput
from tests.workflows.test_order_workflow import order_input
from tests.workflows.test_personal_invoice_workflow import application
from tests.workflows.test_unit_invoice_workflow import unit_invoice
from tests.workflows.test_unit_qualification_workflow import qualification
from workflows.common import PROCESS_STATUS
from workflows.order import OrderWorkflow
from workflows.personal_invoice import PersonalInvoiceWorkflow
from workflows.unit_invoice import UnitInvoiceWorkflow
from workflows.unit_qualification import UnitQualificationWorkflow

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


async def test_an_order_that_cannot_be_stored_fails_once_and_checkout_is_told(temporal_client: Client) -> None:
    """The same for the order's first step, a local activity: no endless retry of record_order."""
    attempts: list[str] = []

    @activity.defn(name="orders.record_order")
    async def record_order(record: OrderRecord) -> None:
        attempts.append(record.input.order_no)
        raise DataError("INSERT ...", {}, Exception("integer out of range"))

    worker = Worker(
        temporal_client,
        task_queue=QUEUE,
        workflows=[OrderWorkflow],
        activities=[record_order],
        interceptors=[PermanentFailures()],
    )
    async with worker:
        no = f"O{uuid.uuid4().hex[:12]}"
        handle = await temporal_client.start_workflow(
            OrderWorkflow.run, order_input(no), id=f"order-{no}", task_queue=QUEUE
        )
        try:
            await handle.execute_update(OrderWorkflow.placed)
            raise AssertionError("the update must be refused")
        except WorkflowUpdateFailedError as err:
            assert message_for_update_failure(err)[0] == "ProcessFailed"
        assert await handle.result() == "failed"
    assert attempts == [no]
    assert (await handle.describe()).typed_search_attributes.get(PROCESS_STATUS) == "failed"


async def test_an_unexpected_constraint_violation_is_retried_a_few_times_then_ends(monkeypatch) -> None:
    """An IntegrityError no activity caught may be a race the next attempt resolves: it is retried
    up to INTEGRITY_ATTEMPTS, then it is permanent like a data error (never an endless retry)."""
    from types import SimpleNamespace

    from sqlalchemy.exc import IntegrityError
    from temporalio.exceptions import ApplicationError

    import activities.faults as faults

    class Failing:
        async def execute_activity(self, input: object) -> object:
            raise IntegrityError("INSERT ...", {}, Exception("duplicate key value violates unique constraint"))

    inbound = faults.PermanentFailures().intercept_activity(Failing())  # type: ignore[arg-type]
    seen = []
    for attempt in range(1, faults.INTEGRITY_ATTEMPTS + 1):
        monkeypatch.setattr(faults.activity, "info", lambda a=attempt: SimpleNamespace(attempt=a))
        try:
            await inbound.execute_activity(None)  # type: ignore[arg-type]
        except ApplicationError as err:
            seen.append(("final", err.non_retryable, err.type))
        except IntegrityError:
            seen.append(("retried", True, None))
    assert seen == [("retried", True, None)] * (faults.INTEGRITY_ATTEMPTS - 1) + [("final", True, "InvalidData")]


async def _refused_then_failed(handle: WorkflowHandle, update: str) -> None:
    try:
        await handle.execute_update(update)
        raise AssertionError("the update must be refused")
    except WorkflowUpdateFailedError as err:
        assert message_for_update_failure(err)[0] == "ProcessFailed"
    assert await handle.result() == "failed"
    assert (await handle.describe()).typed_search_attributes.get(PROCESS_STATUS) == "failed"


async def test_unit_applications_that_cannot_be_stored_fail_once(temporal_client: Client) -> None:
    """集体开票资格 and 单位开票: the same for their first step."""
    calls: list[str] = []

    @activity.defn(name="unit_qualification.record")
    async def record_qualification(submission: QualificationInput) -> int:
        calls.append("qualification")
        raise DataError("INSERT ...", {}, Exception("value too long for type character varying(100)"))

    @activity.defn(name="unit_invoice.record")
    async def record_unit_invoice(submission: UnitInvoiceInput) -> InvoiceRecorded:
        calls.append("unit_invoice")
        raise DataError("INSERT ...", {}, Exception("value too long for type character varying(254)"))

    worker = Worker(
        temporal_client,
        task_queue=QUEUE,
        workflows=[UnitQualificationWorkflow, UnitInvoiceWorkflow],
        activities=[record_qualification, record_unit_invoice],
        interceptors=[PermanentFailures()],
    )
    async with worker:
        qualification_handle = await temporal_client.start_workflow(
            UnitQualificationWorkflow.run,
            qualification(),
            id=f"unit-qualification-fail-{uuid.uuid4().hex[:8]}",
            task_queue=QUEUE,
        )
        await _refused_then_failed(qualification_handle, "submitted")
        no = f"U{uuid.uuid4().hex[:12]}"
        unit_invoice_handle = await temporal_client.start_workflow(
            UnitInvoiceWorkflow.run, unit_invoice(no), id=f"unit-invoice-{no}", task_queue=QUEUE
        )
        await _refused_then_failed(unit_invoice_handle, "submitted")
    assert calls == ["qualification", "unit_invoice"]
