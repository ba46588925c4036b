"""Shared by every workflow module: search-attribute keys, retry policy, the refusal helper."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.errors import MESSAGES


TRAINEE_ID = SearchAttributeKey.for_keyword("TraineeId")
SCHOOL_ID = SearchAttributeKey.for_keyword("SchoolId")
ORDER_NO = SearchAttributeKey.for_keyword("OrderNo")
PROCESS_STATUS = SearchAttributeKey.for_keyword("ProcessStatus")
BUSINESS_KEY = SearchAttributeKey.for_keyword("BusinessKey")

# Activities talk to our database and the payment provider: retry transient faults for long,
# with backoff, since every activity is idempotent.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)


def refuse(code: str) -> ApplicationError:
    """A business refusal for an Update validator/handler; the web layer shows MESSAGES[code]."""
    return ApplicationError(MESSAGES.get(code, code), type=code, non_retryable=True)


def set_status(status: str) -> None:
    workflow.upsert_search_attributes([PROCESS_STATUS.value_set(status)])
