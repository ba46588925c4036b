"""The Alipay and WeChat Pay adapters (on python-alipay-sdk and wechatpayv3) against the embedded
provider over HTTP, in both wire protocols: signed requests and answers, QR trades, query, close,
refund idempotent on its number, the daily bills, and a request the provider cannot verify."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from db.base import utcnow
from gateways.factory import build_gateway
from gateways.payment import PaymentGatewayError, RefundRefused, TradeClosed, TradeState
from gateways.paysim_keys import load_sim_keys
from gateways.paysim_wire import beijing
from gateways.simulator import SimulatorGateway

pytestmark = pytest.mark.usefixtures("live_server")
CHANNELS = ["alipay", "wechat"]


@pytest.fixture
def store(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> SimulatorGateway:
    return SimulatorGateway(sessionmaker, settings)


def _order_no(tag: str) -> str:
    return f"{utcnow():%Y%m%d%H%M%S}-A{tag}{utcnow():%f}"[:32]


async def _open(settings: Settings, channel: str, tag: str, amount: int = 12000):
    return await build_gateway(settings).precreate(
        order_no=_order_no(tag),
        channel=channel,
        amount_cents=amount,
        subject="继续教育课程费（适配器测试）",
        expires_at=(utcnow() + timedelta(minutes=30)).isoformat(),
    )


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_qr_trade_is_opened_queried_and_closed(settings: Settings, channel: str) -> None:
    gateway = build_gateway(settings)
    trade = await _open(settings, channel, "q")
    assert trade.out_trade_no.endswith(f"-{channel}") and "/paysim/scan/" in trade.qr_url
    found = await gateway.query(out_trade_no=trade.out_trade_no)
    assert found is not None and (found.state, found.amount_cents) == (TradeState.NOTPAY, 12000)
    await gateway.close(out_trade_no=trade.out_trade_no)
    closed = await gateway.query(out_trade_no=trade.out_trade_no)
    assert closed is not None and closed.state == TradeState.CLOSED
    with pytest.raises(TradeClosed):  # a closed trade is never reopened
        await gateway.precreate(
            order_no=trade.out_trade_no.rsplit("-", 1)[0],
            channel=channel,
            amount_cents=12000,
            subject="x",
            expires_at=(utcnow() + timedelta(minutes=30)).isoformat(),
        )
    assert await gateway.query(out_trade_no=f"19990101000000-0000-{channel}") is None


@pytest.mark.parametrize("channel", CHANNELS)
async def test_refund_is_idempotent_on_its_number(settings: Settings, store: SimulatorGateway, channel: str) -> None:
    gateway = build_gateway(settings)
    trade = await _open(settings, channel, "r")
    row = await store.get_trade(trade.qr_url.rsplit("/", 1)[-1])
    assert row is not None
    await store.pay(row.trade_no)
    paid = await gateway.query(out_trade_no=trade.out_trade_no)
    assert paid is not None and paid.state == TradeState.SUCCESS and paid.trade_no == row.trade_no
    await gateway.close(out_trade_no=trade.out_trade_no)  # closing a paid trade changes nothing
    assert (await gateway.query(out_trade_no=trade.out_trade_no)).state == TradeState.SUCCESS  # type: ignore[union-attr]

    first = await gateway.refund(trade_no=row.trade_no, refund_no=f"R-{channel}-{row.trade_no}", amount_cents=4000)
    again = await gateway.refund(trade_no=row.trade_no, refund_no=f"R-{channel}-{row.trade_no}", amount_cents=4000)
    assert first.amount_cents == again.amount_cents == 4000
    refreshed = await store.get_trade(row.trade_no)
    assert refreshed is not None and refreshed.refunded_cents == 4000  # refunded once
    with pytest.raises(RefundRefused):  # never more than was paid
        await gateway.refund(trade_no=row.trade_no, refund_no=f"R2-{row.trade_no}", amount_cents=9000)


@pytest.mark.parametrize("channel", CHANNELS)
async def test_the_daily_bill_lists_payments_and_refunds(
    settings: Settings, store: SimulatorGateway, channel: str
) -> None:
    gateway = build_gateway(settings)
    trade = await _open(settings, channel, "b", amount=3300)
    trade_no = trade.qr_url.rsplit("/", 1)[-1]
    await store.pay(trade_no)
    await gateway.refund(trade_no=trade_no, refund_no=f"RB-{trade_no}", amount_cents=1100)
    day = beijing(utcnow())[:10]
    entries = await gateway.bill(channel=channel, day=day)
    mine = [e for e in entries if e.trade_no == trade_no]
    assert sorted((e.kind, e.amount_cents, e.refund_no) for e in mine) == [
        ("payment", 3300, ""),
        ("refund", 1100, f"RB-{trade_no}"),
    ]
    assert all(e.channel == channel and e.out_trade_no == trade.out_trade_no for e in mine)


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_request_signed_with_another_merchant_key_is_refused(
    settings: Settings, channel: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The provider checks the merchant's signature: a stranger's key opens no trade."""
    other = load_sim_keys(tmp_path_factory.mktemp("stranger"))
    stranger = settings.model_copy(
        update={
            "alipay_app_private_key_file": _write(tmp_path_factory, "a.pem", other.alipay_app_private),
            "wechatpay_private_key_file": _write(tmp_path_factory, "w.pem", other.wechat_merchant_private),
        }
    )
    with pytest.raises((PaymentGatewayError, ConnectionError)):
        await _open(stranger, channel, "s")


def _write(factory: pytest.TempPathFactory, name: str, text: str) -> str:
    path = factory.mktemp("keys") / name
    path.write_text(text)
    return str(path)
