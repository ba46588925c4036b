"""The payment simulator behaves like the real providers: idempotent precreate and refund, no payment
on a closed trade, one payment and one notification per trade, signed notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import db.models  # noqa: F401  (every table)
from config import Settings
from db.base import Base, make_engine, make_sessionmaker, utcnow
from db.models.paysim import SimNotification, SimRefund, SimTrade
from gateways.factory import ChannelGateway, build_gateway
from gateways.notifier import Notifier
from gateways.payment import (
    InvalidNotification,
    RefundRefused,
    TradeClosed,
    TradeState,
)
from gateways.paysim_keys import load_sim_keys
from gateways.paysim_wire import AlipayWire, WechatWire
from gateways.simulator import SimulatorGateway, TradeAlreadyPaid, TradeExpired


@pytest_asyncio.fixture
async def sim_maker(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'paysim.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def gateway(sim_maker: async_sessionmaker[AsyncSession], tmp_path: Path) -> SimulatorGateway:
    settings = Settings(base_url="http://pay.test", var_dir=tmp_path)
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


async def test_a_payment_that_raced_the_close_can_still_be_forced(gateway: SimulatorGateway, sim_maker) -> None:
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
    assert payload["amount_cents"] == "12000"
    # the notification it sends, in Alipay's protocol, is one the merchant's adapter accepts
    note = Notifier(sim_maker, gateway_settings(gateway), wires=wires(gateway)).render(payload)
    assert note.form is not None and note.form["total_amount"] == "120.00" and note.form["sign_type"] == "RSA2"
    notice = merchant(gateway).verify_notification("alipay", {}, urlencode(note.form).encode())
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


async def test_over_refund_is_refused_and_full_refund_marks_the_trade(gateway: SimulatorGateway, sim_maker) -> None:
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


def gateway_settings(gateway: SimulatorGateway) -> Settings:
    return gateway.settings


def wires(gateway: SimulatorGateway) -> tuple[AlipayWire, WechatWire]:
    keys = load_sim_keys(gateway.settings.var_dir)
    return AlipayWire(gateway, keys, gateway.settings), WechatWire(gateway, keys, gateway.settings)


def merchant(gateway: SimulatorGateway) -> ChannelGateway:
    return build_gateway(gateway.settings)


CONTENT = {
    "channel": "wechat",
    "out_trade_no": "20261128223015-0001-wechat",
    "trade_no": "4200001234202611281234567890",
    "amount_cents": "12000",
    "paid_at": "2026-11-28T14:31:00+00:00",
}


def test_wechat_notification_is_verified_and_decrypted(gateway: SimulatorGateway) -> None:
    note = wires(gateway)[1].notification(CONTENT)
    assert note.headers is not None and note.headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    notice = merchant(gateway).verify_notification("wechat", note.headers, note.body)
    assert notice.order_no == "20261128223015-0001"
    assert notice.out_trade_no == "20261128223015-0001-wechat"
    assert notice.trade_no == "4200001234202611281234567890"
    assert notice.amount_cents == 12000
    assert notice.paid_at == "2026-11-28T14:31:00+00:00"


def test_wechat_notification_with_a_changed_body_is_refused(gateway: SimulatorGateway) -> None:
    note = wires(gateway)[1].notification(CONTENT)
    assert note.headers is not None
    tampered = note.body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESS ")
    with pytest.raises(InvalidNotification, match="signature"):
        merchant(gateway).verify_notification("wechat", note.headers, tampered)


def test_alipay_notification_signed_by_another_key_is_refused(gateway: SimulatorGateway, tmp_path: Path) -> None:
    other = Settings(base_url="http://pay.test", var_dir=tmp_path / "other")
    forged = AlipayWire(gateway, load_sim_keys(other.var_dir), other).notification(
        {**CONTENT, "channel": "alipay", "out_trade_no": "X-alipay"}
    )
    assert forged.form is not None
    with pytest.raises(InvalidNotification, match="signature"):
        merchant(gateway).verify_notification("alipay", {}, urlencode(forged.form).encode())


@pytest.mark.parametrize("field", ["out_trade_no", "trade_no", "total_amount", "trade_status", "sign"])
def test_alipay_notification_missing_a_field_is_refused(gateway: SimulatorGateway, field: str) -> None:
    note = wires(gateway)[0].notification({**CONTENT, "channel": "alipay", "out_trade_no": "X-alipay"})
    assert note.form is not None
    params = dict(note.form)
    del params[field]
    with pytest.raises(InvalidNotification):
        merchant(gateway).verify_notification("alipay", {}, urlencode(params).encode())
