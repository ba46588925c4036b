"""RefundWorkflow: give the money of a withdrawn course back to the original payment account, once.

Id ``refund-{enrollment_id}`` (started by the study workflow's 退课): a second start of the same
refund is refused by the server. The provider request number (``RefundRequest.refund_no``, from
``domain.study.withdraw_refund_no``) makes the provider refund at most once, however often the
activity is retried after a crash.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from domain.orders import REFUND_RECORDED_SIGNAL, REFUND_STATE_PATCH, RefundDone, RefundRequest
    from domain.process_text import refund_text
    from workflows.common import run_step, set_status
    from workflows.order import order_workflow_id
    from workflows.steps import orders


def refund_workflow_id(enrollment_id: int) -> str:
    return f"refund-{enrollment_id}"


@workflow.defn
class RefundWorkflow:
    @workflow.run
    async def run(self, req: RefundRequest) -> RefundDone:
        text = refund_text(req)
        set_status("refunding", text)
        # retried with backoff until the provider answers: a refund is never given up on
        done = await run_step(orders.refund, req)
        if workflow.patched(REFUND_STATE_PATCH) and done.order_state:
            await self._tell_order(req.order_no, done.order_state)
        set_status("refunded", text)
        return done

    async def _tell_order(self, order_no: str, state: str) -> None:
        """The order's ProcessStatus follows its refunds (部分退款 / 已退款) while its workflow still
        listens (the late-payment window); after that the projection alone says so, and this
        workflow's own ProcessStatus and OrderNo show the refund to an operator."""
        try:
            await workflow.get_external_workflow_handle(order_workflow_id(order_no)).signal(
                REFUND_RECORDED_SIGNAL, state
            )
        except FailureError:  # the order's workflow has closed
            workflow.logger.info("order %s closed: its ProcessStatus stays", order_no)
