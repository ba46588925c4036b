"""Errors an activity cannot fix by retrying: bad data for the database (a value too long or out of
range; a constraint violation no code path expected, after a few attempts). The worker turns them into a non-retryable
ApplicationError of type ``InvalidData``, so the step fails once instead of retrying forever, and
the workflow shows the process as ``failed`` with the reason (workflows/common.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DataError, IntegrityError
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from gateways.payment import PaymentGatewayError

INVALID_DATA = "InvalidData"
# fail the same way on every attempt: a value the column cannot hold, a number too large for the
# driver
PERMANENT = (DataError, OverflowError, PaymentGatewayError)  # the provider refused: it answers the same again
# A constraint violation no activity caught (activities catch the races they expect) may still be
# a race that the next attempt resolves: a few attempts, then it is permanent too.
INTEGRITY_ATTEMPTS = 3


def permanent_failure(exc: BaseException) -> ApplicationError:
    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    return ApplicationError(reason, type=INVALID_DATA, non_retryable=True)


class _Inbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except PERMANENT as exc:
            activity.logger.error("permanent failure, not retried: %s", exc)
            raise permanent_failure(exc) from exc
        except IntegrityError as exc:
            if activity.info().attempt < INTEGRITY_ATTEMPTS:
                raise
            activity.logger.error("constraint violation on attempt %d, not retried: %s", activity.info().attempt, exc)
            raise permanent_failure(exc) from exc


class PermanentFailures(Interceptor):
    """Worker interceptor: data errors end the activity at once (no endless retry)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next)
