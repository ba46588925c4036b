# mypy: disable-error-code="empty-body"
"""activities/orders.py: OrderActivities."""

from __future__ import annotations

from temporalio import activity

from domain.orders import (
    OrderRecord,
    PaymentApplied,
    PaymentReceived,
    RefundDone,
    RefundRequest,
    TradeOpened,
    TradeRequest,
)


@activity.defn(name="orders.record_order")
async def record_order(record: OrderRecord) -> None: ...


@activity.defn(name="orders.open_trade")
async def open_trade(req: TradeRequest) -> TradeOpened: ...


@activity.defn(name="orders.close_trade")
async def close_trade(out_trade_no: str) -> None: ...


@activity.defn(name="orders.close_order")
async def close_order(order_no: str, status: str) -> None: ...


@activity.defn(name="orders.apply_payment")
async def apply_payment(paid: PaymentReceived) -> PaymentApplied: ...


@activity.defn(name="orders.refund")
async def refund(req: RefundRequest) -> RefundDone: ...
