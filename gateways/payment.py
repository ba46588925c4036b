"""The payment provider as the order process sees it (Alipay 当面付 / WeChat Pay Native shape).

The embedded default is the cashier simulator (`gateways/simulator.py`); real Alipay and WeChat Pay
adapters implement the same protocol. Amounts are integer fen.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol


class TradeState:
    NOTPAY = "NOTPAY"
    SUCCESS = "SUCCESS"
    CLOSED = "CLOSED"
    REFUND = "REFUND"


@dataclass(frozen=True)
class Trade:
    out_trade_no: str  # our order number + channel: one trade per order and channel
    trade_no: str  # the provider's number
    channel: str  # alipay / wechat
    amount_cents: int
    qr_url: str  # what the QR code encodes (the phone opens it)
    state: str
    expires_at: str  # ISO 8601


@dataclass(frozen=True)
class RefundReceipt:
    refund_no: str  # ours; the same number never refunds twice
    trade_no: str
    amount_cents: int
    refunded_at: str  # ISO 8601


@dataclass(frozen=True)
class PaymentNotice:
    """A verified asynchronous payment notification."""

    order_no: str
    out_trade_no: str
    trade_no: str
    channel: str
    amount_cents: int
    paid_at: str  # ISO 8601


class InvalidNotification(Exception):
    """Forged, tampered or malformed notification: refuse it and change nothing."""


class PaymentGatewayError(Exception):
    """The provider refused a request (business error, not a transport fault): retrying the same
    request gets the same answer. `str(exc)` is a Chinese message fit for a page."""


class TradeNotFound(PaymentGatewayError):
    """No trade with that number at the provider."""


class TradeClosed(PaymentGatewayError):
    """The trade is closed: it cannot be reopened or paid."""


class RefundRefused(PaymentGatewayError):
    """Nothing (or not that much) left to refund, or the refund number was used differently."""


class PaymentGateway(Protocol):
    async def precreate(
        self, *, order_no: str, channel: str, amount_cents: int, subject: str, expires_at: str
    ) -> Trade: ...

    async def query(self, *, out_trade_no: str) -> Trade | None: ...

    async def close(self, *, out_trade_no: str) -> None: ...

    async def refund(self, *, trade_no: str, refund_no: str, amount_cents: int) -> RefundReceipt: ...

    def verify_notification(self, params: dict[str, str]) -> PaymentNotice: ...


def sign(params: dict[str, str], secret: str) -> str:
    """HMAC-SHA256 over the sorted, non-empty parameters except `sign` (the providers' canonical form;
    the real adapters use RSA2 / the WeChat platform certificate instead)."""
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def verify_signature(params: dict[str, str], secret: str) -> bool:
    return hmac.compare_digest(params.get("sign", ""), sign(params, secret))


def out_trade_no(order_no: str, channel: str) -> str:
    return f"{order_no}-{channel}"


def order_no_of(out_trade: str) -> str:
    return out_trade.rsplit("-", 1)[0]
