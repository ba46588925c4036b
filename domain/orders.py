"""Purchase-to-payment: the order's data shapes and the checkout rules (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from domain.beijing_time import beijing_time
from domain.catalog import PaymentChannel, TrainingType
from domain.errors import DomainError


class OrderState:
    PENDING = "pending"
    PAID = "paid"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    # after a payment, refunds of it (退课, a line already held) move the order on: 部分退款 / 已退款
    PARTLY_REFUNDED = "part_refund"
    REFUNDED = "refunded"
    SETTLED = (PAID, PARTLY_REFUNDED, REFUNDED)  # paid once, whatever was given back since

# OrderWorkflow's signal from a refund of its accepted payment (RefundWorkflow, with a patch marker)
REFUND_RECORDED_SIGNAL = "refund_recorded"
REFUND_STATE_PATCH = "order-refund-state"


def refund_state(amount_cents: int, refunded_cents: int) -> str:
    """The state of a paid order from what was refunded of its accepted payment."""
    if refunded_cents <= 0:
        return OrderState.PAID
    if refunded_cents < amount_cents:
        return OrderState.PARTLY_REFUNDED
    return OrderState.REFUNDED


def make_refund_number(day: date, seq: int) -> str:
    """退款单号 a person reads (TK + Beijing date + the day's sequence): TK202601010001. The
    provider's idempotency key stays the refund's internal number (W-…, D-…, R-…)."""
    return f"{refund_number_prefix(day)}{seq:04d}"


def refund_number_prefix(day: date) -> str:
    return f"TK{day:%Y%m%d}"


def refund_number_seq(number: str, day: date) -> int:
    """The sequence of a number made by ``make_refund_number`` on ``day`` (0 for another day's)."""
    prefix = refund_number_prefix(day)
    tail = number[len(prefix):] if number.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else 0


@dataclass
class OrderLine:
    course_id: int
    title: str
    hours: str  # decimal as text: workflow payloads stay JSON-plain
    price_cents: int


@dataclass
class OrderInput:
    order_no: str
    trainee_id: int
    school_id: int
    training_year: int
    training_type: str
    lines: list[OrderLine]
    payment_timeout_seconds: float
    late_payment_window_seconds: float
    trainee_name: str = ""  # for the operator's summary (domain/process_text.py) only

    @property
    def amount_cents(self) -> int:
        return sum(line.price_cents for line in self.lines)


@dataclass
class OrderView:
    """What the pay page needs back from an Update."""

    order_no: str
    state: str
    amount_cents: int
    expires_at: str
    channel: str | None = None
    qr_url: str | None = None
    trade_no: str | None = None


@dataclass
class PaymentReceived:
    """A verified payment notification, as signalled to the order workflow."""

    out_trade_no: str
    trade_no: str
    channel: str
    amount_cents: int
    paid_at: str


@dataclass
class OrderRecord:
    """The projection row the order workflow writes when it starts."""

    input: OrderInput
    created_at: str
    expires_at: str


@dataclass
class TradeRequest:
    order_no: str
    channel: str
    amount_cents: int
    subject: str
    expires_at: str


@dataclass
class TradeOpened:
    out_trade_no: str
    trade_no: str
    qr_url: str


@dataclass
class PaymentApplied:
    """Result of recording a payment: enrollments made, and lines that were already held elsewhere."""

    enrollment_ids: list[int] = field(default_factory=list)
    duplicate_item_ids: list[int] = field(default_factory=list)
    duplicate_cents: int = 0


@dataclass
class RefundRequest:
    refund_no: str  # the provider's idempotency key: the same number never refunds twice
    order_no: str
    trade_no: str
    amount_cents: int
    reason: str  # withdraw / late_payment / duplicate_payment
    enrollment_id: int | None = None


@dataclass
class RefundDone:
    refund_no: str
    amount_cents: int
    refunded_at: str
    order_state: str | None = None  # the order's state once this refund is recorded (None: not a paid order)


def validate_checkout(
    *,
    course_ids: list[int],
    training_year: int | None,
    training_type: str,
    offered_years: list[int],
) -> None:
    """The rules a checkout must pass before any order exists (prices and holdings are checked by the
    caller against the database)."""
    if not course_ids:
        raise DomainError("EmptySelection")
    if training_type not in {t.value for t in TrainingType}:
        raise DomainError("TrainingTypeInvalid")
    if training_year is None or training_year not in offered_years:
        raise DomainError("YearNotOffered")


def validate_channel(channel: str) -> None:
    if channel not in {c.value for c in PaymentChannel}:
        raise DomainError("PaymentChannelInvalid")


def make_order_no(now: datetime, serial: int) -> str:
    """Readable, sortable and unique per second and serial: 20261128223015-048213, in Beijing time
    (an order placed at 00:39 on 1 January is numbered with that day)."""
    return f"{beijing_time(now):%Y%m%d%H%M%S}-{serial:06d}"


def late_refund_no(order_no: str, trade_no: str) -> str:
    return f"R-{order_no}-{trade_no}"
