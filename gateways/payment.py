"""The payment provider as the order process sees it (Alipay 当面付 / WeChat Pay Native shape).

Two adapters implement it on the providers' SDKs: `gateways/alipay.py` (Alipay 当面付, RSA2) and
`gateways/wechatpay.py` (WeChat Pay Native, API v3); `gateways/factory.py` routes each call to the
channel's adapter. By default they talk to the embedded simulator, which speaks both wire protocols
(`gateways/paysim_wire.py`). Amounts are integer fen.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    paid_at: str = ""  # ISO 8601, when a query finds it paid


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


@dataclass(frozen=True)
class BillEntry:
    """One line of a provider's daily bill (对账单): a payment or a refund."""

    kind: str  # payment / refund
    channel: str
    out_trade_no: str
    trade_no: str
    amount_cents: int  # positive for both kinds
    at: str  # ISO 8601, when the money moved
    refund_no: str = ""  # ours (out_request_no / out_refund_no), for refunds


class TradeLookup(Protocol):
    """An existing trade at the provider: look it up, close it, give money back."""

    async def query(self, *, out_trade_no: str) -> Trade | None: ...

    async def close(self, *, out_trade_no: str) -> None: ...

    async def refund(self, *, trade_no: str, refund_no: str, amount_cents: int) -> RefundReceipt: ...


class TradeGateway(TradeLookup, Protocol):
    """What the order process needs of a provider (the order activities)."""

    async def precreate(
        self, *, order_no: str, channel: str, amount_cents: int, subject: str, expires_at: str
    ) -> Trade: ...


class BillGateway(TradeLookup, Protocol):
    """What the daily reconciliation needs of a provider: its bills and the trades they name."""

    async def bill(self, *, channel: str, day: str) -> list[BillEntry]:
        """The channel's bill of one Beijing day (YYYY-MM-DD)."""
        ...


class PaymentGateway(TradeGateway, BillGateway, Protocol):
    """A provider as the whole platform sees it: trades, notifications and bills."""

    def verify_notification(self, channel: str, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        """The provider's asynchronous notification as received: refuses anything not genuine."""
        ...


def channel_of_trade_no(trade_no: str) -> str:
    """Which provider numbered a trade: WeChat Pay's transaction ids start with 4 (4200...), Alipay's
    trade numbers with the date (2026...). A refund knows only the trade number."""
    return "wechat" if trade_no.startswith("4") else "alipay"


def out_trade_no(order_no: str, channel: str) -> str:
    return f"{order_no}-{channel}"


def order_no_of(out_trade: str) -> str:
    return out_trade.rsplit("-", 1)[0]
