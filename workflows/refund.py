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
    from workflows.common import run_step, set_status
    from workflows.steps import orders


def refund_workflow_id(enrollment_id: int) -> str:
    return f"refund-{enrollment_id}"


@workflow.defn
class RefundWorkflow:
    @workflow.run
    async def run(self, req: RefundRequest) -> RefundDone:
        set_status("refunding")
        # retried with backoff until the provider answers: a refund is never given up on
        done = await run_step(orders.refund, req)
        set_status("refunded")
        return done
