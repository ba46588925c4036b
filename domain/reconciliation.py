"""Daily reconciliation (对账): the providers' bills against our payments and refunds.

Pure rules: `compare` finds every difference of one Beijing day; `allowed_actions` says how finance
may resolve each kind. Each difference has a stable key (day, kind, trade or refund number), so a
rerun of the same day finds the same differences and opens no second task for any of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


class DifferenceKind:
    UNKNOWN_PAYMENT = "unknown_payment"  # 渠道有收款，平台无对应订单支付
    AMOUNT_MISMATCH = "amount_mismatch"  # 金额不符
    PAYMENT_MISSING_AT_PROVIDER = "payment_missing_at_provider"  # 平台已支付，渠道账单无此收款
    REFUND_MISSING_AT_PROVIDER = "refund_missing_at_provider"  # 平台已退款，渠道账单无此退款
    REFUND_MISSING_IN_APP = "refund_missing_in_app"  # 渠道有退款，平台无记录

    LABELS = {
        UNKNOWN_PAYMENT: "渠道收款无对应订单",
        AMOUNT_MISMATCH: "金额不符",
        PAYMENT_MISSING_AT_PROVIDER: "渠道账单缺少收款",
        REFUND_MISSING_AT_PROVIDER: "渠道账单缺少退款",
        REFUND_MISSING_IN_APP: "平台缺少退款记录",
    }


class Resolution:
    REFUND = "refund"  # 退款：money the platform should not keep goes back (or a refund is re-sent)
    SETTLE = "settle"  # 补单：the payment is handed to its order as the lost notification would have
    EXPLAIN = "explain"  # 已说明：nothing to move; finance records why

    LABELS = {REFUND: "退款", SETTLE: "补单入账", EXPLAIN: "标记为已说明"}


ALLOWED = {
    DifferenceKind.UNKNOWN_PAYMENT: (Resolution.REFUND, Resolution.SETTLE, Resolution.EXPLAIN),
    DifferenceKind.AMOUNT_MISMATCH: (Resolution.REFUND, Resolution.EXPLAIN),
    DifferenceKind.PAYMENT_MISSING_AT_PROVIDER: (Resolution.EXPLAIN,),
    DifferenceKind.REFUND_MISSING_AT_PROVIDER: (Resolution.REFUND, Resolution.EXPLAIN),
    DifferenceKind.REFUND_MISSING_IN_APP: (Resolution.EXPLAIN,),
}


def allowed_actions(kind: str) -> tuple[str, ...]:
    return ALLOWED.get(kind, (Resolution.EXPLAIN,))


@dataclass(frozen=True)
class BillLine:
    """One line of a provider's bill (gateways.payment.BillEntry across the workflow boundary)."""

    kind: str  # payment / refund
    channel: str
    out_trade_no: str
    trade_no: str
    amount_cents: int
    at: str
    refund_no: str = ""


@dataclass(frozen=True)
class AppPayment:
    """A payment the platform accepted: an order paid by a trade."""

    order_no: str
    channel: str
    trade_no: str
    amount_cents: int


@dataclass(frozen=True)
class AppRefund:
    refund_no: str
    order_no: str
    trade_no: str
    amount_cents: int


@dataclass
class Ledger:
    """What the platform booked on the day, plus what it knows of any day (to tell a late or a
    duplicate payment it refunded itself from one it never saw)."""

    payments: list[AppPayment] = field(default_factory=list)  # paid on the day
    refunds: list[AppRefund] = field(default_factory=list)  # refunded on the day
    known_trade_nos: list[str] = field(default_factory=list)  # trades of the bill the app paid or refunded
    known_refund_nos: list[str] = field(default_factory=list)  # refunds of the bill the app made
    order_amounts: dict[str, int] = field(default_factory=dict)  # order_no -> amount, orders of the bill


@dataclass(frozen=True)
class Difference:
    key: str
    day: str
    kind: str
    channel: str
    order_no: str
    trade_no: str
    refund_no: str
    provider_cents: int | None
    app_cents: int | None
    at: str = ""  # ISO; the bill's time of a provider line

    @property
    def label(self) -> str:
        return DifferenceKind.LABELS.get(self.kind, self.kind)


# ---- activity inputs (the workflow's side of activities/reconciliation.py) ----------------------


@dataclass
class BillRequest:
    channel: str
    day: str


@dataclass
class LedgerRequest:
    day: str
    trade_nos: list[str] = field(default_factory=list)
    refund_nos: list[str] = field(default_factory=list)
    order_nos: list[str] = field(default_factory=list)


@dataclass
class RecordRun:
    day: str
    workflow_id: str
    bill_lines: int
    differences: list[Difference] = field(default_factory=list)


@dataclass
class FinishRun:
    day: str
    stuck_closed: int
    stuck_settled: int


@dataclass
class StuckRequest:
    now: str  # ISO; workflow time
    older_than_minutes: float


@dataclass
class StuckTrade:
    order_no: str
    channel: str


@dataclass
class ResolveRequest:
    key: str
    action: str
    note: str
    actor_id: int



def order_no_of(out_trade_no: str) -> str:
    return out_trade_no.rsplit("-", 1)[0]


def _diff(day: str, kind: str, channel: str, order_no: str, trade_no: str = "", refund_no: str = "",
          provider: int | None = None, app: int | None = None, at: str = "") -> Difference:  # fmt: skip
    return Difference(
        key=f"{day}:{kind}:{refund_no or trade_no or order_no}",
        day=day,
        kind=kind,
        channel=channel,
        order_no=order_no,
        trade_no=trade_no,
        refund_no=refund_no,
        provider_cents=provider,
        app_cents=app,
        at=at,
    )


def compare(day: str, bill: list[BillLine], ledger: Ledger) -> list[Difference]:
    """Every difference between the day's bills (all channels) and the platform's books."""
    found: list[Difference] = []
    paid = {p.trade_no: p for p in ledger.payments}
    known_trades = set(ledger.known_trade_nos) | set(paid)
    billed_trades = set()
    for line in (b for b in bill if b.kind == "payment"):
        billed_trades.add(line.trade_no)
        order_no = order_no_of(line.out_trade_no)
        ours = paid.get(line.trade_no)
        if ours is None and line.trade_no not in known_trades:
            found.append(
                _diff(day, DifferenceKind.UNKNOWN_PAYMENT, line.channel, order_no, line.trade_no,
                      provider=line.amount_cents, app=ledger.order_amounts.get(order_no), at=line.at)  # fmt: skip
            )
        elif ours is not None and ours.amount_cents != line.amount_cents:
            found.append(
                _diff(day, DifferenceKind.AMOUNT_MISMATCH, line.channel, order_no, line.trade_no,
                      provider=line.amount_cents, app=ours.amount_cents, at=line.at)  # fmt: skip
            )
    for p in ledger.payments:
        if p.trade_no not in billed_trades:
            found.append(
                _diff(day, DifferenceKind.PAYMENT_MISSING_AT_PROVIDER, p.channel, p.order_no, p.trade_no,
                      app=p.amount_cents)  # fmt: skip
            )
    refunded = {r.refund_no: r for r in ledger.refunds}
    known_refunds = set(ledger.known_refund_nos) | set(refunded)
    billed_refunds = set()
    for line in (b for b in bill if b.kind == "refund"):
        billed_refunds.add(line.refund_no)
        ours_refund = refunded.get(line.refund_no)
        order_no = order_no_of(line.out_trade_no)
        if ours_refund is None and line.refund_no not in known_refunds:
            found.append(
                _diff(day, DifferenceKind.REFUND_MISSING_IN_APP, line.channel, order_no, line.trade_no,
                      line.refund_no, provider=line.amount_cents, at=line.at)  # fmt: skip
            )
        elif ours_refund is not None and ours_refund.amount_cents != line.amount_cents:
            found.append(
                _diff(day, DifferenceKind.AMOUNT_MISMATCH, line.channel, order_no, line.trade_no, line.refund_no,
                      provider=line.amount_cents, app=ours_refund.amount_cents)  # fmt: skip
            )
    for r in ledger.refunds:
        if r.refund_no not in billed_refunds:
            channel = "wechat" if r.trade_no.startswith("4") else "alipay"
            found.append(
                _diff(day, DifferenceKind.REFUND_MISSING_AT_PROVIDER, channel, r.order_no, r.trade_no,
                      r.refund_no, app=r.amount_cents)  # fmt: skip
            )
    return found


def previous_beijing_day(now: datetime) -> str:
    """The Beijing calendar day before `now`: what a run early in the morning reconciles."""
    return (now.astimezone(BEIJING) - timedelta(days=1)).date().isoformat()


def beijing_day_bounds(day: str) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(day).replace(tzinfo=BEIJING)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def valid_day(day: str, today: str) -> bool:
    """A day that can be reconciled: a real date, not after yesterday, at most a year back."""
    try:
        parsed = datetime.strptime(day, "%Y-%m-%d").date()
    except ValueError:
        return False
    last = datetime.strptime(today, "%Y-%m-%d").date()
    return last - timedelta(days=366) <= parsed < last


def refund_no_for(difference_key: str) -> str:
    """Our refund number for a reconciliation refund: stable per difference, so it refunds once."""
    return "RC" + hashlib.sha1(difference_key.encode()).hexdigest()[:30]


STUCK_AFTER_MINUTES = 60.0


@dataclass
class ReconcileInput:
    day: str = ""  # YYYY-MM-DD (Beijing); empty: the schedule's trigger, which reconciles yesterday
    stuck_after_minutes: float = STUCK_AFTER_MINUTES
