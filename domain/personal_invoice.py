"""个人发票: the personal invoice application's shapes and rules (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.beijing_time import beijing_time
from domain.errors import DomainError
from domain.invoicing import TitleType, check_ticked_orders, validate_buyer, validate_email


class InvoiceState:
    AVAILABLE = "available"  # an order no live application holds: 可申请
    PENDING = "pending"
    ISSUED = "issued"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    REFUSED = "refused"  # never recorded: another application took one of the orders first

    LABELS = {
        AVAILABLE: "可申请",
        PENDING: "待开票",
        ISSUED: "已开票",
        REJECTED: "已驳回",
        CANCELLED: "已取消",
        REFUSED: "未受理",
    }


@dataclass
class InvoiceLine:
    order_no: str
    amount_cents: int


@dataclass
class PersonalInvoiceInput:
    application_no: str
    trainee_id: int
    trainee_name: str
    school_id: int
    title_type: str
    title: str
    tax_id: str | None
    email: str
    lines: list[InvoiceLine]
    submitted_at: str  # ISO 8601
    remind_after_seconds: float
    due_after_seconds: float

    @property
    def amount_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass
class ApplicationClosed:
    """A rejected or cancelled application: its orders become free again."""

    application_no: str
    state: str  # rejected / cancelled
    reason: str = ""


@dataclass
class IssueRequest:
    application_no: str
    drawer_id: int | None  # the finance reviewer who approved: 开票人


@dataclass
class IssuedInvoice:
    application_no: str
    invoice_no: str
    pdf_path: str  # relative to settings.files_dir
    amount_cents: int
    seller_name: str = ""


@dataclass
class InvoiceMail:
    """What `mail.send_invoice` sends: the PDF (a file under settings.files_dir) to the given address."""

    to: str
    buyer_title: str
    seller_name: str
    invoice_no: str
    amount_cents: int
    pdf_path: str
    application_no: str = ""


@dataclass
class PersonalInvoiceView:
    """What the trainee's page needs back from an Update."""

    application_no: str
    state: str
    reason: str = ""
    invoice_no: str = ""


def make_application_no(now: datetime, serial: int) -> str:
    """Readable and sortable: P20261128223015-4821 (P keeps it apart from unit applications, U...)."""
    return f"P{beijing_time(now):%Y%m%d%H%M%S}-{serial:04d}"


@dataclass
class BuyerDetails:
    title_type: str
    title: str
    tax_id: str | None
    email: str


def validate_application(
    *,
    order_nos: list[str],
    invoiceable: dict[str, tuple[int, int]],
    held: set[str],
    title_type: str,
    title: str,
    tax_id: str,
    email: str,
) -> BuyerDetails:
    """Checks a 发票申请 form; `invoiceable` maps each order the trainee may invoice now to
    (school id, amount in fen); `held` are orders a live application (personal or unit) holds.
    Returns the normalised buyer details."""
    check_ticked_orders(order_nos, invoiceable, held, none_ticked="InvoiceOrdersRequired")
    if len({invoiceable[no][0] for no in order_nos}) > 1:
        raise DomainError("InvoiceMixedSchools")
    clean_title, clean_tax_id = validate_buyer(title_type, title, tax_id)
    return BuyerDetails(
        title_type=TitleType(title_type).value,
        title=clean_title,
        tax_id=clean_tax_id,
        email=validate_email(email),
    )


def invoiceable_cents(amount_cents: int, paid_trade_no: str | None, refunds: list[tuple[str, int]]) -> int:
    """What of a paid order can still be invoiced: its amount less the refunds of its accepted
    payment (withdrawn courses, lines bought twice). Refunds of a second, late or duplicate trade
    give back money that never counted toward the order and change nothing."""
    refunded = sum(cents for trade_no, cents in refunds if trade_no == paid_trade_no)
    return max(amount_cents - refunded, 0)
