"""Shared by every workflow module: search-attribute keys, the activity call, the refusal helper."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar, overload

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.errors import MESSAGES
    from domain.process_text import ProcessText


TRAINEE_ID = SearchAttributeKey.for_keyword("TraineeId")
SCHOOL_ID = SearchAttributeKey.for_keyword("SchoolId")
ORDER_NO = SearchAttributeKey.for_keyword("OrderNo")
PROCESS_STATUS = SearchAttributeKey.for_keyword("ProcessStatus")
BUSINESS_KEY = SearchAttributeKey.for_keyword("BusinessKey")


def process_attributes(
    status: str,
    *,
    trainee_id: int | str | None = None,
    school_id: int | str | None = None,
    order_no: str | None = None,
    business_key: str | None = None,
) -> TypedSearchAttributes:
    """The search attributes an operator finds a process by (README: visibility queries), as
    Keywords; only the ones given."""
    given: list[tuple[SearchAttributeKey[str], object]] = [
        (PROCESS_STATUS, status),
        (TRAINEE_ID, trainee_id),
        (SCHOOL_ID, school_id),
        (ORDER_NO, order_no),
        (BUSINESS_KEY, business_key),
    ]
    return TypedSearchAttributes([SearchAttributePair(key, str(value)) for key, value in given if value is not None])


# Activities talk to our database and the payment provider: retry transient faults for long,
# with backoff, since every activity is idempotent.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)

R = TypeVar("R")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


@overload
async def run_step(step: Callable[[A], Awaitable[R]], a: A, /, *, local: bool = ..., timeout: timedelta = ...) -> R: ...
@overload
async def run_step(
    step: Callable[[A, B], Awaitable[R]], a: A, b: B, /, *, local: bool = ..., timeout: timedelta = ...
) -> R: ...
@overload
async def run_step(
    step: Callable[[A, B, C], Awaitable[R]], a: A, b: B, c: C, /, *, local: bool = ..., timeout: timedelta = ...
) -> R: ...
async def run_step(
    step: Callable[..., Awaitable[Any]], *args: Any, local: bool = False, timeout: timedelta = ACTIVITY_TIMEOUT
) -> Any:
    """Every activity call of every workflow: a declaration from `workflows/steps/`, by reference.

    `local` runs it as a local activity: no server round trips, for short database steps that
    the process waits on (bench/orders.py); anything that may wait on a provider stays regular.
    """
    if local:
        return await workflow.execute_local_activity(
            step, args=list(args), start_to_close_timeout=timeout, retry_policy=ACTIVITY_RETRY
        )
    return await workflow.execute_activity(
        step, args=list(args), start_to_close_timeout=timeout, retry_policy=ACTIVITY_RETRY
    )


def refuse(code: str) -> ApplicationError:
    """A business refusal for an Update validator/handler; the web layer shows MESSAGES[code]."""
    return ApplicationError(MESSAGES.get(code, code), type=code, non_retryable=True)


def set_status(status: str, text: ProcessText | None = None, *progress: str) -> None:
    """ProcessStatus for visibility queries and, given the process's text, the live line an operator
    reads in the Temporal UI (`订单 … · 张伟 · ¥120.00 · 已支付`)."""
    workflow.upsert_search_attributes([PROCESS_STATUS.value_set(status)])
    if text is not None:
        show(text, status, *progress)


def show(text: ProcessText, status: str, *progress: str) -> None:
    """The live line alone (the state did not change, e.g. study progress, or set at start)."""
    workflow.set_current_details(text.live(status, *progress))


FAILED = "failed"  # ProcessStatus of a process stopped by a step that cannot succeed
INVALID_DATA = "InvalidData"  # activities/faults.py: the worker's type for such a step's error


def permanent_failure_reason(err: BaseException) -> str | None:
    """The readable reason when `err` is an activity's non-retryable data error, else None."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type == INVALID_DATA:
            return cause.message
        cause = cause.__cause__
    return None


def mark_failed(step: str, reason: str) -> None:
    """Leaves the process where an operator sees it: ProcessStatus=failed, the reason in the UI."""
    set_status(FAILED)
    workflow.set_current_details(f"失败：{step}：{reason}")
    workflow.logger.error("process failed at %s: %s", step, reason)


# how long a failed process waits for the page that asked for its first answer (update-with-start
# delivers the Update in the same moment: it may not have run yet when the step fails)
ANSWER_WINDOW = timedelta(seconds=30)


async def wait_until_told(told: Callable[[], bool]) -> None:
    """Ends a failed process only once the waiting page has had its refusal (or nobody asked)."""
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(told, timeout=ANSWER_WINDOW)
    await workflow.wait_condition(workflow.all_handlers_finished)
