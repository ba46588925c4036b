"""The embedded payment provider's own tables (the 支付宝 / 微信支付 stand-in).

Only `gateways/simulator.py` and `gateways/notifier.py` write here; the platform never reads these
tables to decide anything (it learns about payments from signed notifications, as with the real
providers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class SimTradeState:
    NOTPAY = "NOTPAY"  # 未支付（二维码有效）
    SUCCESS = "SUCCESS"  # 支付成功
    CLOSED = "CLOSED"  # 已关闭
    REFUND = "REFUND"  # 已全额退款


class SimTrade(Base):
    """One QR trade per order and channel (out_trade_no = f"{order_no}-{channel}")."""

    __tablename__ = "sim_trades"

    out_trade_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    trade_no: Mapped[str] = mapped_column(String(64), unique=True)  # the provider's number
    channel: Mapped[str] = mapped_column(String(10))
    amount_cents: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default=SimTradeState.NOTPAY)
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def order_no(self) -> str:
        return self.out_trade_no.rsplit("-", 1)[0]

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


class SimRefund(Base):
    """A refund the provider made; refund_no is the merchant's idempotency key."""

    __tablename__ = "sim_refunds"

    refund_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    trade_no: Mapped[str] = mapped_column(String(64), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SimNotification(Base):
    """An asynchronous payment notification, re-sent until the merchant answers `success`."""

    __tablename__ = "sim_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the signed form parameters, sent as-is
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    acked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
