"""The payment provider's asynchronous notification (支付结果通知), server to server.

Each provider posts to its own URL in its own protocol and re-sends until we acknowledge:
`/payments/notify/alipay` (RSA2-signed form; acknowledged with the text `success`) and
`/payments/notify/wechat` (JSON with `Wechatpay-*` signature headers and an AES-GCM encrypted
resource; acknowledged with 204). The gateway verifies it exactly as the provider requires, we check
the amount against our own order, and hand the payment to the order workflow as an Update (the
workflow drops duplicates and refunds late or extra payments). Anything that does not check out is
refused (`fail` / a FAIL JSON) and changes nothing.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from api.deps import SessionDep, TemporalDep, release
from db.models.orders import Order
from domain.orders import OrderState, PaymentReceived
from gateways.factory import build_gateway
from gateways.payment import InvalidNotification, PaymentGateway
from workflows.order import OrderWorkflow, order_workflow_id

log = logging.getLogger(__name__)

router = APIRouter(tags=["payments"])


def get_gateway(request: Request) -> PaymentGateway:
    """The gateway the app verifies notifications with (set in the lifespan by `start_notifier`)."""
    gateway: PaymentGateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        gateway = build_gateway(request.app.state.settings)
        request.app.state.gateway = gateway
    return gateway


GatewayDep = Annotated[PaymentGateway, Depends(get_gateway)]


CHANNELS = ("alipay", "wechat")


def _answer(channel: str, ok: bool, status_code: int = 400) -> Response:
    """Each provider's acknowledgement: Alipay reads the body, WeChat Pay the status."""
    if channel == "wechat":
        if ok:
            return Response(status_code=204)
        return JSONResponse({"code": "FAIL", "message": "失败"}, status_code=status_code)
    return PlainTextResponse("success" if ok else "fail", status_code=200 if ok else status_code)


@router.post("/payments/notify/{channel}", response_class=PlainTextResponse)
async def payment_notify(
    channel: str, request: Request, session: SessionDep, client: TemporalDep, gateway: GatewayDep
) -> Response:
    if channel not in CHANNELS:
        return PlainTextResponse("fail", status_code=404)
    body = await request.body()
    try:
        notice = gateway.verify_notification(channel, request.headers, body)
    except InvalidNotification as exc:
        log.warning("%s payment notification refused: %s", channel, exc)
        return _answer(channel, False)
    ref = f"out_trade_no={notice.out_trade_no!r} trade_no={notice.trade_no!r}"

    order = await session.get(Order, notice.order_no)
    if order is None:
        log.warning("payment notification refused: unknown order %s (%s)", notice.order_no, ref)
        return _answer(channel, False)
    if order.amount_cents != notice.amount_cents:
        log.warning(
            "payment notification refused: amount %d fen does not match order %s (%d fen) (%s)",
            notice.amount_cents,
            order.order_no,
            order.amount_cents,
            ref,
        )
        return _answer(channel, False)

    payment = PaymentReceived(
        out_trade_no=notice.out_trade_no,
        trade_no=notice.trade_no,
        channel=notice.channel,
        amount_cents=notice.amount_cents,
        paid_at=notice.paid_at,
    )
    await release(session)  # no connection held while the workflow settles the payment
    try:
        handle = client.get_workflow_handle(order_workflow_id(order.order_no))
        view = await handle.execute_update(OrderWorkflow.payment_received, payment)
    except (RPCError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        # workflow not found / already completed / Temporal unavailable: the provider will retry
        log.warning("payment notification not delivered to order %s: %s (%s)", order.order_no, exc, ref)
        return _answer(channel, False, 503)
    log.info("payment notification accepted for order %s (%s)", order.order_no, ref)
    if view.state != OrderState.PENDING:
        request.app.state.settlements.settled(order.order_no)  # the waiting pay page moves on now
    return _answer(channel, True)
