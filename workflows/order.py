"""OrderWorkflow: one order from checkout to payment (or close), and its late or duplicate payments."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.catalog import PaymentChannel
    from domain.orders import (
        REFUND_RECORDED_SIGNAL,
        REFUND_STATE_PATCH,
        OrderInput,
        OrderRecord,
        OrderState,
        OrderView,
        PaymentReceived,
        RefundRequest,
        TradeOpened,
        TradeRequest,
        late_refund_no,
    )
    from domain.process_text import order_text
    from workflows.common import (
        FAILED,
        mark_failed,
        permanent_failure_reason,
        refuse,
        run_step,
        set_status,
        show,
        wait_until_told,
    )
    from workflows.steps import orders


# Not sandboxed: the sandbox re-imports this module for every new order, a quarter of the worker's CPU
# per purchase (bench/orders.py). The module imports only domain/ types and temporalio, and the
# replay tests (tests/workflows/test_replay.py) guard its determinism.


def order_workflow_id(order_no: str) -> str:
    return f"order-{order_no}"


@workflow.defn(sandboxed=False)
class OrderWorkflow:
    def __init__(self) -> None:
        self.input: OrderInput | None = None
        self.state = OrderState.PENDING
        self.recorded = False
        self.expires_at: datetime | None = None
        self.trades: dict[str, TradeOpened] = {}  # by channel
        self.channel: str | None = None
        self.notices: list[PaymentReceived] = []
        self.handled_trades: set[str] = set()
        self.paid_trade_no: str | None = None
        self.cancel_requested = False
        self.failure: str | None = None
        self.failure_told = False  # the page waiting on the first answer has had the refusal

    @workflow.run
    async def run(self, order: OrderInput) -> str:
        self.input = order
        self.text = order_text(order)
        show(self.text, OrderState.PENDING)
        now = workflow.now()
        self.expires_at = now + timedelta(seconds=order.payment_timeout_seconds)
        try:
            await run_step(
                orders.record_order,
                OrderRecord(input=order, created_at=now.isoformat(), expires_at=self.expires_at.isoformat()),
                local=True,
            )
        except (ActivityError, ApplicationError) as err:  # a local activity's failure comes unwrapped
            reason = permanent_failure_reason(err)
            if reason is None:
                raise
            # the order cannot be stored: checkout is told, the operator sees why; nothing to pay
            self.failure, self.state = reason, FAILED
            mark_failed("record_order", reason)
            await wait_until_told(lambda: self.failure_told)
            return self.state
        self.recorded = True

        with contextlib.suppress(TimeoutError):  # unpaid in time: closed below
            await workflow.wait_condition(
                lambda: self._first_valid_payment() is not None or self.cancel_requested,
                timeout=self.expires_at - workflow.now(),
            )

        paid = self._first_valid_payment()
        if paid is not None:
            await self._accept(paid)
        else:
            await self._close(OrderState.CANCELLED if self.cancel_requested else OrderState.CLOSED)

        # Providers retry notifications for about a day and a user may pay a second QR code:
        # keep listening, and refund any payment that is not the one we accepted.
        window_end = workflow.now() + timedelta(seconds=order.late_payment_window_seconds)
        while True:
            try:
                await workflow.wait_condition(
                    lambda: bool(self._unhandled()), timeout=max(window_end - workflow.now(), timedelta(0))
                )
            except TimeoutError:
                break
            for notice in self._unhandled():
                await self._refund_extra(notice)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    # ---- Updates the pay page needs an answer from -------------------------------------------

    @workflow.update
    async def placed(self) -> OrderView:
        """Returns once the order is on record, so the next page can show it."""
        await workflow.wait_condition(lambda: self.recorded or self.failure is not None)
        if not self.recorded:
            self.failure_told = True
            raise refuse("ProcessFailed")
        return self._view()

    @workflow.update
    async def open_trade(self, channel: str) -> OrderView:
        assert self.input is not None and self.expires_at is not None
        if channel not in self.trades:
            opened = await run_step(
                orders.open_trade,
                TradeRequest(
                    order_no=self.input.order_no,
                    channel=channel,
                    amount_cents=self.input.amount_cents,
                    subject=f"继续教育课程费（订单 {self.input.order_no}）",
                    expires_at=self.expires_at.isoformat(),
                ),
                local=True,
            )
            self.trades[channel] = opened
        self.channel = channel
        return self._view()

    @open_trade.validator
    def _validate_open_trade(self, channel: str) -> None:
        if channel not in {c.value for c in PaymentChannel}:
            raise refuse("PaymentChannelInvalid")
        if self.state != OrderState.PENDING or self.cancel_requested or self._first_valid_payment():
            raise refuse("OrderNotPayable")

    @workflow.update
    async def cancel(self) -> OrderView:
        self.cancel_requested = True
        await workflow.wait_condition(lambda: self.state != OrderState.PENDING)
        return self._view()

    @cancel.validator
    def _validate_cancel(self) -> None:
        if self.state != OrderState.PENDING or self.cancel_requested or self._first_valid_payment():
            raise refuse("OrderNotCancellable")

    @workflow.update
    async def payment_received(self, notice: PaymentReceived) -> OrderView:
        """The provider's notification. Answers once this payment has paid the order (enrollments
        made), so the web app can move the waiting pay page on at once; a payment that will be
        refunded instead (late, extra, wrong amount) is answered at once and refunded afterwards."""
        # duplicates of one trade are dropped here; different trades are each settled once
        if notice.trade_no not in {n.trade_no for n in self.notices}:
            self.notices.append(notice)
        await workflow.wait_condition(
            lambda: self.state != OrderState.PENDING
            or (self.paid_trade_no is None and self._first_valid_payment() is None)
        )
        return self._view()

    @workflow.query
    def view(self) -> OrderView:
        return self._view()

    @workflow.signal(name=REFUND_RECORDED_SIGNAL)
    def refund_recorded(self, state: str) -> None:
        """A refund of the accepted payment was recorded (RefundWorkflow of a 退课): 部分退款 / 已退款."""
        self._refunded(state)

    def _refunded(self, state: str) -> None:
        # only forward: a paid order becomes partly refunded, then refunded; never back to paid
        order = [OrderState.PAID, OrderState.PARTLY_REFUNDED, OrderState.REFUNDED]
        if self.state in order and state in order and order.index(state) > order.index(self.state):
            self.state = state
            set_status(state)

    # ---- steps --------------------------------------------------------------------------------

    async def _accept(self, paid: PaymentReceived) -> None:
        assert self.input is not None
        self.handled_trades.add(paid.trade_no)
        self.paid_trade_no = paid.trade_no
        self.channel = paid.channel
        applied = await run_step(orders.apply_payment, paid, local=True)
        self.state = OrderState.PAID
        set_status(OrderState.PAID, self.text)
        # the other channel's QR code must not take a second payment
        for channel, trade in self.trades.items():
            if channel != paid.channel:
                await run_step(orders.close_trade, trade.out_trade_no, local=True)
        if applied.duplicate_cents:
            done = await run_step(
                orders.refund,
                RefundRequest(
                    refund_no=f"D-{self.input.order_no}",
                    order_no=self.input.order_no,
                    trade_no=paid.trade_no,
                    amount_cents=applied.duplicate_cents,
                    reason="duplicate_payment",
                ),
            )
            if workflow.patched(REFUND_STATE_PATCH) and done.order_state:
                self._refunded(done.order_state)  # lines already held elsewhere: 部分退款 / 已退款

    async def _close(self, state: str) -> None:
        assert self.input is not None
        for trade in self.trades.values():
            await run_step(orders.close_trade, trade.out_trade_no, local=True)
        await run_step(orders.close_order, self.input.order_no, state, local=True)
        self.state = state
        set_status(state, self.text)

    async def _refund_extra(self, notice: PaymentReceived) -> None:
        assert self.input is not None
        self.handled_trades.add(notice.trade_no)
        reason = "duplicate_payment" if self.state in OrderState.SETTLED else "late_payment"
        await run_step(
            orders.refund,
            RefundRequest(
                refund_no=late_refund_no(self.input.order_no, notice.trade_no),
                order_no=self.input.order_no,
                trade_no=notice.trade_no,
                amount_cents=notice.amount_cents,
                reason=reason,
            ),
        )

    def _unhandled(self) -> list[PaymentReceived]:
        return [n for n in self.notices if n.trade_no not in self.handled_trades]

    def _first_valid_payment(self) -> PaymentReceived | None:
        """A payment counts toward the order only while it is open and for the full amount."""
        if self.input is None or self.state != OrderState.PENDING:
            return None
        for notice in self._unhandled():
            if notice.amount_cents == self.input.amount_cents:
                return notice
        return None

    def _view(self) -> OrderView:
        assert self.input is not None and self.expires_at is not None
        trade = self.trades.get(self.channel or "")
        return OrderView(
            order_no=self.input.order_no,
            state=self.state,
            amount_cents=self.input.amount_cents,
            expires_at=self.expires_at.isoformat(),
            channel=self.channel,
            qr_url=trade.qr_url if trade else None,
            trade_no=self.paid_trade_no or (trade.trade_no if trade else None),
        )
