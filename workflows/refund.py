"""RefundWorkflow: give the money of a withdrawn course back to the original payment account, once.

Id ``refund-{enrollment_id}`` (started by the study workflow's 退课): a second start of the same
refund is refused by the server. The provider request number (``RefundRequest.refund_no``, from
``domain.study.withdraw_refund_no``) makes the provider refund at most once, however often the
activity is retried after a crash.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.orders import RefundDone, RefundRequest
    from domain.process_text import refund_text
    from workflows.common import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, set_status


def refund_workflow_id(enrollment_id: int) -> str:
    return f"refund-{enrollment_id}"


@workflow.defn
class RefundWorkflow:
    @workflow.run
    async def run(self, req: RefundRequest) -> RefundDone:
        text = refund_text(req)
        set_status("refunding", text)
        # retried with backoff until the provider answers: a refund is never given up on
        done: RefundDone = await workflow.execute_activity(
            "orders.refund",
            req,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            result_type=RefundDone,
        )
        set_status("refunded", text)
        return done
