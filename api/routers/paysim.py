"""The payment simulator's phone page: what the user sees after scanning the cashier's QR code.

It stands in for the 支付宝 / 微信支付 app. Confirming pays the trade at the simulator, which then
notifies the platform (`POST /payments/notify/{channel}`) in each provider's protocol.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.deps import SessionDep
from api.templating import render
from db.base import utcnow
from db.models.catalog import School
from db.models.orders import Order
from db.models.paysim import SimTrade, SimTradeState
from gateways.payment import PaymentGatewayError, TradeNotFound
from gateways.simulator import SimulatorGateway

router = APIRouter(tags=["paysim"])

DEFAULT_MERCHANT = "继续教育平台"


def simulator(request: Request) -> SimulatorGateway:
    store = getattr(request.app.state, "paysim", None)
    if isinstance(store, SimulatorGateway):
        return store
    return SimulatorGateway(request.app.state.sessionmaker, request.app.state.settings)


async def _merchant(session: SessionDep, trade: SimTrade) -> str:
    name = await session.scalar(
        select(School.name).join(Order, Order.school_id == School.id).where(Order.order_no == trade.order_no)
    )
    return name or DEFAULT_MERCHANT


def _refusal(trade: SimTrade) -> str | None:
    """Why the phone would not offer to pay this trade now (None: it can be paid)."""
    if trade.state in (SimTradeState.SUCCESS, SimTradeState.REFUND):
        return "该订单已支付"
    if trade.state == SimTradeState.CLOSED:
        return "交易已关闭"
    if trade.is_expired(utcnow()):
        return "二维码已过期"
    return None


async def _page(
    request: Request,
    session: SessionDep,
    trade: SimTrade,
    *,
    paid: bool = False,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "paysim/scan.html",
        {
            "trade": trade,
            "merchant": await _merchant(session, trade),
            "paid": paid,
            "refusal": refusal,
        },
        block="screen",
        status_code=status_code,
    )


async def _trade_or_404(request: Request, trade_no: str) -> SimTrade:
    trade = await simulator(request).get_trade(trade_no)
    if trade is None:
        raise HTTPException(status_code=404, detail="二维码无效或交易不存在")
    return trade


@router.get("/paysim/scan/{trade_no}", response_class=HTMLResponse)
async def scan(trade_no: str, request: Request, session: SessionDep) -> Response:
    trade = await _trade_or_404(request, trade_no)
    return await _page(request, session, trade, refusal=_refusal(trade))


@router.post("/paysim/scan/{trade_no}/pay", response_class=HTMLResponse)
async def pay(trade_no: str, request: Request, session: SessionDep) -> Response:
    try:
        trade = await simulator(request).pay(trade_no)
    except TradeNotFound as exc:
        raise HTTPException(status_code=404, detail="二维码无效或交易不存在") from exc
    except PaymentGatewayError as exc:
        current = await _trade_or_404(request, trade_no)
        return await _page(request, session, current, refusal=str(exc), status_code=409)
    notifier = getattr(request.app.state, "notifier", None)
    if notifier is not None:
        notifier.deliver_soon(trade.out_trade_no)  # now, so the cashier page moves on at once
    return await _page(request, session, trade, paid=True)
