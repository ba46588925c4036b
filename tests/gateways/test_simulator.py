"""The payment simulator behaves like the real providers: idempotent precreate and refund, no payment
on a closed trade, one payment and one notification per trade, signed notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import db.models  # noqa: F401  (every table)
from config import Settings
from db.base import Base, make_engine, make_sessionmaker, utcnow
from db.models.paysim import SimNotification, SimRefund, SimTrade
from gateways.payment import (
    InvalidNotification,
    RefundRefused,
    TradeClosed,
    TradeState,
    sign,
)
from gateways.simulator import SimulatorGateway, TradeAlreadyPaid, TradeExpired

SECRET = "unit-test-secret"


@pytest_asyncio.fixture
async def sim_maker(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'paysim.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def gateway(sim_maker: async_sessionmaker[AsyncSession], tmp_path: Path) -> SimulatorGateway:
    settings = Settings(payment_notify_secret=SECRET, base_url="http://pay.test", var_dir=tmp_path)
    return SimulatorGateway(sim_maker, settings)


async def _open(
    gateway: SimulatorGateway,
    order_no: str = "20261128223015-0001",
    channel: str = "alipay",
    amount: int = 12000,
    minutes: float = 30,
):
    return await gateway.precreate(
        order_no=order_no,
        channel=channel,
        amount_cents=amount,
        subject=f"继续教育课程费（订单 {order_no}）",
        expires_at=(utcnow() + timedelta(minutes=minutes)).isoformat(),
    )


async def _count(maker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_precreate_is_idempotent_per_order_and_channel(gateway: SimulatorGateway, sim_maker) -> None:
    first = await _open(gateway)
    again = await _open(gateway)
    assert again == first
    assert first.state == TradeState.NOTPAY
    assert first.out_trade_no == "20261128223015-0001-alipay"
    assert first.qr_url == f"http://pay.test/paysim/scan/{first.trade_no}"
    assert first.trade_no.startswith(utcnow().strftime("%Y%m%d") + "22001") and len(first.trade_no) == 28

    wechat = await _open(gateway, channel="wechat")
    assert wechat.trade_no.startswith("4200") and wechat.trade_no != first.trade_no
    assert await _count(sim_maker, SimTrade) == 2
    assert await gateway.query(out_trade_no=first.out_trade_no) == first
    assert await gateway.query(out_trade_no="nope-alipay") is None


async def test_closed_trade_cannot_be_paid_or_reopened(gateway: SimulatorGateway, sim_maker) -> None:
    trade = await _open(gateway)
    await gateway.close(out_trade_no=trade.out_trade_no)
    closed = await gateway.query(out_trade_no=trade.out_trade_no)
    assert closed is not None and closed.state == TradeState.CLOSED

    with pytest.raises(TradeClosed, match="交易已关闭"):
        await gateway.pay(trade.trade_no)
    with pytest.raises(TradeClosed):
        await _open(gateway)
    assert await _count(sim_maker, SimNotification) == 0


async def test_a_payment_that_raced_the_close_can_still_be_forced(
    gateway: SimulatorGateway, sim_maker
) -> None:
    trade = await _open(gateway)
    await gateway.close(out_trade_no=trade.out_trade_no)
    paid = await gateway.pay(trade.trade_no, force=True)
    assert paid.state == TradeState.SUCCESS and paid.paid_at is not None
    assert await _count(sim_maker, SimNotification) == 1
    # and it can be refunded (the late-payment path)
    receipt = await gateway.refund(trade_no=trade.trade_no, refund_no="R-late", amount_cents=12000)
    assert receipt.amount_cents == 12000


async def test_expired_qr_code_is_refused(gateway: SimulatorGateway) -> None:
    trade = await _open(gateway, minutes=-1)
    with pytest.raises(TradeExpired, match="二维码已过期"):
        await gateway.pay(trade.trade_no)


async def test_closing_a_paid_trade_changes_nothing(gateway: SimulatorGateway) -> None:
    trade = await _open(gateway)
    await gateway.pay(trade.trade_no)
    await gateway.close(out_trade_no=trade.out_trade_no)
    after = await gateway.query(out_trade_no=trade.out_trade_no)
    assert after is not None and after.state == TradeState.SUCCESS


async def test_paying_twice_pays_once_and_notifies_once(gateway: SimulatorGateway, sim_maker) -> None:
    trade = await _open(gateway)
    paid = await gateway.pay(trade.trade_no)
    assert paid.state == TradeState.SUCCESS
    with pytest.raises(TradeAlreadyPaid, match="该订单已支付"):
        await gateway.pay(trade.trade_no)
    with pytest.raises(TradeAlreadyPaid):
        await gateway.pay(trade.trade_no, force=True)

    async with sim_maker() as session:
        notes = (await session.scalars(select(SimNotification))).all()
    assert len(notes) == 1
    payload = notes[0].payload
    assert payload["out_trade_no"] == trade.out_trade_no
    assert payload["trade_no"] == trade.trade_no
    assert payload["total_amount"] == "12000"
    assert payload["trade_status"] == "TRADE_SUCCESS"
    assert payload["sign"] == sign(payload, SECRET)
    # the notification it sends is one the merchant accepts
    notice = gateway.verify_notification(payload)
    assert (notice.order_no, notice.amount_cents, notice.channel) == ("20261128223015-0001", 12000, "alipay")


async def test_refund_is_idempotent_on_refund_no(gateway: SimulatorGateway, sim_maker) -> None:
    trade = await _open(gateway)
    await gateway.pay(trade.trade_no)

    first = await gateway.refund(trade_no=trade.trade_no, refund_no="R-1", amount_cents=5000)
    again = await gateway.refund(trade_no=trade.trade_no, refund_no="R-1", amount_cents=5000)
    assert again == first
    assert await _count(sim_maker, SimRefund) == 1
    async with sim_maker() as session:
        row = await session.get(SimTrade, trade.out_trade_no)
        assert row is not None and row.refunded_cents == 5000 and row.state == TradeState.SUCCESS

    # the same number for a different refund is refused, not silently reused
    with pytest.raises(RefundRefused):
        await gateway.refund(trade_no=trade.trade_no, refund_no="R-1", amount_cents=7000)


async def test_over_refund_is_refused_and_full_refund_marks_the_trade(
    gateway: SimulatorGateway, sim_maker
) -> None:
    trade = await _open(gateway)
    await gateway.pay(trade.trade_no)
    await gateway.refund(trade_no=trade.trade_no, refund_no="R-1", amount_cents=5000)

    with pytest.raises(RefundRefused, match="超过可退金额"):
        await gateway.refund(trade_no=trade.trade_no, refund_no="R-2", amount_cents=7001)
    assert await _count(sim_maker, SimRefund) == 1

    await gateway.refund(trade_no=trade.trade_no, refund_no="R-3", amount_cents=7000)
    after = await gateway.query(out_trade_no=trade.out_trade_no)
    assert after is not None and after.state == TradeState.REFUND
    with pytest.raises(RefundRefused):
        await gateway.refund(trade_no=trade.trade_no, refund_no="R-4", amount_cents=1)


async def test_unpaid_trade_cannot_be_refunded(gateway: SimulatorGateway) -> None:
    trade = await _open(gateway)
    with pytest.raises(RefundRefused, match="未支付"):
        await gateway.refund(trade_no=trade.trade_no, refund_no="R-x", amount_cents=100)


def _genuine(gateway: SimulatorGateway) -> dict[str, str]:
    params = {
        "out_trade_no": "20261128223015-0001-wechat",
        "trade_no": "4200001234202611281234567890",
        "channel": "wechat",
        "total_amount": "12000",
        "trade_status": "TRADE_SUCCESS",
        "gmt_payment": "2026-11-28T14:31:00+00:00",
        "notify_id": "abc123",
    }
    params["sign"] = sign(params, SECRET)
    return params


def test_verify_notification_accepts_a_genuine_one(gateway: SimulatorGateway) -> None:
    notice = gateway.verify_notification(_genuine(gateway))
    assert notice.order_no == "20261128223015-0001"
    assert notice.out_trade_no == "20261128223015-0001-wechat"
    assert notice.trade_no == "4200001234202611281234567890"
    assert notice.amount_cents == 12000
    assert notice.paid_at == "2026-11-28T14:31:00+00:00"


def test_verify_notification_rejects_a_forged_signature(gateway: SimulatorGateway) -> None:
    params = _genuine(gateway)
    params["sign"] = sign(params, "someone-elses-secret")
    with pytest.raises(InvalidNotification, match="signature"):
        gateway.verify_notification(params)


def test_verify_notification_rejects_a_tampered_amount(gateway: SimulatorGateway) -> None:
    params = _genuine(gateway)
    params["total_amount"] = "1"
    with pytest.raises(InvalidNotification, match="signature"):
        gateway.verify_notification(params)


@pytest.mark.parametrize("field", ["out_trade_no", "trade_no", "total_amount", "trade_status", "sign"])
def test_verify_notification_rejects_a_missing_field(gateway: SimulatorGateway, field: str) -> None:
    params = _genuine(gateway)
    del params[field]
    if field != "sign":
        params["sign"] = sign(params, SECRET)  # even correctly signed, an incomplete notice is refused
    with pytest.raises(InvalidNotification, match=f"missing field.*{field}"):
        gateway.verify_notification(params)


def test_verify_notification_rejects_a_non_success_status(gateway: SimulatorGateway) -> None:
    params = _genuine(gateway)
    params["trade_status"] = "TRADE_CLOSED"
    params["sign"] = sign(params, SECRET)
    with pytest.raises(InvalidNotification, match="trade_status"):
        gateway.verify_notification(params)
