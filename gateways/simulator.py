"""The embedded payment provider: a stand-in for Alipay 当面付 and WeChat Pay Native.

It keeps its own tables (`db/models/paysim.py`) and behaves like the real providers where the order
process can tell the difference:

- `precreate` is idempotent per out_trade_no and refuses to reopen a closed trade;
- `close` closes an unpaid trade; closing a paid trade changes nothing;
- `refund` is idempotent on the merchant's refund number and never refunds more than was paid;
- a payment ("scan and pay" on the phone page, `pay`) records an asynchronous notification that
  `gateways/notifier.py` signs in the channel's protocol and posts until the merchant acknowledges.

This is the provider's store. The platform talks to it only through the providers' wire protocols
(`gateways/paysim_wire.py`, served under /paysim/alipay and /paysim/wechat) with the real adapters
(`gateways/factory.py`); only the phone page and tests call it directly.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from db.base import rows_changed, utcnow
from db.models.paysim import SimNotification, SimRefund, SimTrade, SimTradeState
from gateways.payment import (
    PaymentGatewayError,
    RefundReceipt,
    RefundRefused,
    Trade,
    TradeClosed,
    TradeNotFound,
    out_trade_no,
)

log = logging.getLogger(__name__)

CHANNELS = ("alipay", "wechat")


class TradeExpired(PaymentGatewayError):
    """The QR code's validity ran out before it was paid."""


class TradeAlreadyPaid(PaymentGatewayError):
    """A trade is paid at most once."""


def new_trade_no(channel: str, now: datetime | None = None) -> str:
    """The provider's own 28-digit number, shaped like the real ones.

    Alipay: date + "22001" + digits (2026112822001...); WeChat Pay: "4200" + digits + date + digits.
    """
    now = now or utcnow()
    if channel == "wechat":
        return f"4200{_digits(6)}{now:%Y%m%d}{_digits(10)}"
    return f"{now:%Y%m%d}22001{_digits(15)}"


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class SimulatorGateway:
    """PaymentGateway over the simulator's tables."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")

    # ---- PaymentGateway ---------------------------------------------------------------------------

    async def precreate(
        self, *, order_no: str, channel: str, amount_cents: int, subject: str, expires_at: str
    ) -> Trade:
        if channel not in CHANNELS:
            raise PaymentGatewayError(f"不支持的支付方式：{channel}")
        if amount_cents <= 0:
            raise PaymentGatewayError("支付金额必须大于零")
        key = out_trade_no(order_no, channel)
        expires = _parse_time(expires_at)
        for _ in range(5):
            async with self.sessionmaker() as session:
                trade = SimTrade(
                    out_trade_no=key,
                    trade_no=new_trade_no(channel),
                    channel=channel,
                    amount_cents=amount_cents,
                    subject=subject[:200],
                    state=SimTradeState.NOTPAY,
                    expires_at=expires,
                    created_at=utcnow(),
                    refunded_cents=0,
                )
                session.add(trade)
                try:
                    await session.commit()
                except IntegrityError:
                    # the trade exists (a repeated or concurrent precreate) or a trade_no collided
                    await session.rollback()
                    existing = await session.get(SimTrade, key)
                    if existing is not None:
                        return self._reuse(existing, amount_cents)
                    continue
                return self._trade(trade)
        raise PaymentGatewayError("下单失败，请稍后重试")

    async def query(self, *, out_trade_no: str) -> Trade | None:
        async with self.sessionmaker() as session:
            trade = await session.get(SimTrade, out_trade_no)
            return self._trade(trade) if trade is not None else None

    async def close(self, *, out_trade_no: str) -> None:
        """NOTPAY -> CLOSED. A paid, refunded, already closed or unknown trade is left as it is."""
        async with self.sessionmaker() as session:
            result = await session.execute(
                update(SimTrade)
                .where(SimTrade.out_trade_no == out_trade_no, SimTrade.state == SimTradeState.NOTPAY)
                .values(state=SimTradeState.CLOSED, closed_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        if rows_changed(result) == 0:
            log.info("paysim: close of %s changed nothing (not an unpaid trade)", out_trade_no)

    async def refund(self, *, trade_no: str, refund_no: str, amount_cents: int) -> RefundReceipt:
        if amount_cents <= 0:
            raise RefundRefused("退款金额必须大于零")
        async with self.sessionmaker() as session:
            existing = await session.get(SimRefund, refund_no)
            if existing is not None:
                return self._same_refund(existing, trade_no, amount_cents)
            trade = await session.scalar(select(SimTrade).where(SimTrade.trade_no == trade_no))
            if trade is None:
                raise TradeNotFound("交易不存在")
            if trade.state not in (SimTradeState.SUCCESS, SimTradeState.REFUND):
                raise RefundRefused("交易未支付，不能退款")
            refunded_after = SimTrade.refunded_cents + amount_cents
            result = await session.execute(
                update(SimTrade)
                .where(
                    SimTrade.trade_no == trade_no,
                    SimTrade.state.in_([SimTradeState.SUCCESS, SimTradeState.REFUND]),
                    refunded_after <= SimTrade.amount_cents,
                )
                .values(
                    refunded_cents=refunded_after,
                    state=case(
                        (refunded_after >= SimTrade.amount_cents, SimTradeState.REFUND),
                        else_=SimTrade.state,
                    ),
                )
                .execution_options(synchronize_session=False)
            )
            if rows_changed(result) != 1:
                left = trade.amount_cents - trade.refunded_cents
                await session.rollback()
                raise RefundRefused(f"退款金额超过可退金额（可退 {left / 100:.2f} 元）")
            now = utcnow()
            session.add(SimRefund(refund_no=refund_no, trade_no=trade_no, amount_cents=amount_cents, created_at=now))
            try:
                await session.commit()
            except IntegrityError:
                # the same refund number raced us: the first one wins, ours is undone with the rollback
                await session.rollback()
                again = await session.get(SimRefund, refund_no)
                if again is None:
                    raise
                return self._same_refund(again, trade_no, amount_cents)
            return RefundReceipt(
                refund_no=refund_no, trade_no=trade_no, amount_cents=amount_cents, refunded_at=now.isoformat()
            )

    # ---- the phone's side ---------------------------------------------------------------------------

    async def get_trade(self, trade_no: str) -> SimTrade | None:
        async with self.sessionmaker() as session:
            return await session.scalar(select(SimTrade).where(SimTrade.trade_no == trade_no))

    async def pay(self, trade_no: str, force: bool = False) -> SimTrade:
        """The user scans the QR code and confirms: NOTPAY and unexpired -> SUCCESS, plus a signed
        notification for the merchant.

        The phone page refuses closed and expired trades, as the providers do. `force=True` pays
        them anyway: it stands for a payment that raced the merchant's close (the late-payment
        refund path). A trade is never paid twice."""
        for _ in range(3):
            now = utcnow()
            async with self.sessionmaker() as session:
                trade = await session.scalar(select(SimTrade).where(SimTrade.trade_no == trade_no))
                if trade is None:
                    raise TradeNotFound("二维码无效或交易不存在")
                if trade.state in (SimTradeState.SUCCESS, SimTradeState.REFUND):
                    raise TradeAlreadyPaid("该订单已支付")
                if not force:
                    if trade.state == SimTradeState.CLOSED:
                        raise TradeClosed("交易已关闭")
                    if trade.is_expired(now):
                        raise TradeExpired("二维码已过期")
                # only if nobody changed the trade since we read it (a concurrent close or pay)
                result = await session.execute(
                    update(SimTrade)
                    .where(SimTrade.trade_no == trade_no, SimTrade.state == trade.state)
                    .values(state=SimTradeState.SUCCESS, paid_at=now)
                    .execution_options(synchronize_session=False)
                )
                if rows_changed(result) != 1:
                    await session.rollback()
                    continue
                session.add(
                    SimNotification(
                        out_trade_no=trade.out_trade_no,
                        payload=self.notification_content(trade, now),
                        attempts=0,
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
                await session.commit()
                # the row as the UPDATE left it, without reading it back
                session.expunge(trade)
                trade.state, trade.paid_at = SimTradeState.SUCCESS, now
                return trade
        raise PaymentGatewayError("支付失败，请重试")

    @staticmethod
    def notification_content(trade: SimTrade, paid_at: datetime) -> dict[str, str]:
        """What was paid; each channel's wire (`gateways/paysim_wire.py`) renders and signs it in its
        own protocol when it is posted, so every attempt carries a fresh signature and timestamp."""
        return {
            "channel": trade.channel,
            "out_trade_no": trade.out_trade_no,
            "trade_no": trade.trade_no,
            "amount_cents": str(trade.amount_cents),
            "paid_at": paid_at.isoformat(),
        }

    async def day_activity(
        self, start: datetime, end: datetime, channel: str
    ) -> tuple[list[SimTrade], list[tuple[SimRefund, SimTrade]]]:
        """The channel's payments and refunds made in [start, end): what its bill for that day lists."""
        async with self.sessionmaker() as session:
            payments = (
                await session.scalars(
                    select(SimTrade)
                    .where(SimTrade.channel == channel, SimTrade.paid_at >= start, SimTrade.paid_at < end)
                    .order_by(SimTrade.paid_at)
                )
            ).all()
            refunds = (
                await session.execute(
                    select(SimRefund, SimTrade)
                    .join(SimTrade, SimTrade.trade_no == SimRefund.trade_no)
                    .where(SimTrade.channel == channel, SimRefund.created_at >= start, SimRefund.created_at < end)
                    .order_by(SimRefund.created_at)
                )
            ).all()
        return list(payments), [(r, t) for r, t in refunds]

    def qr_url(self, trade_no: str) -> str:
        return f"{self.base_url}/paysim/scan/{trade_no}"

    # ---- helpers --------------------------------------------------------------------------------------

    def _reuse(self, existing: SimTrade, amount_cents: int) -> Trade:
        if existing.state == SimTradeState.CLOSED:
            raise TradeClosed(f"交易 {existing.out_trade_no} 已关闭，不能重新下单")
        if existing.amount_cents != amount_cents:
            raise PaymentGatewayError(f"交易 {existing.out_trade_no} 已存在，金额不一致")
        return self._trade(existing)

    def _trade(self, trade: SimTrade) -> Trade:
        return Trade(
            out_trade_no=trade.out_trade_no,
            trade_no=trade.trade_no,
            channel=trade.channel,
            amount_cents=trade.amount_cents,
            qr_url=self.qr_url(trade.trade_no),
            state=trade.state,
            expires_at=trade.expires_at.isoformat(),
        )

    @staticmethod
    def _same_refund(existing: SimRefund, trade_no: str, amount_cents: int) -> RefundReceipt:
        if existing.trade_no != trade_no or existing.amount_cents != amount_cents:
            raise RefundRefused(f"退款单号 {existing.refund_no} 已用于另一笔退款")
        return RefundReceipt(
            refund_no=existing.refund_no,
            trade_no=existing.trade_no,
            amount_cents=existing.amount_cents,
            refunded_at=existing.created_at.isoformat(),
        )
