"""单位开票 (unit invoice): one invoice, issued by finance, over several trainees' paid orders of an
approved unit — shapes and rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.beijing_time import beijing_time
from domain.errors import DomainError
from domain.invoicing import check_ticked_orders, validate_email


class UnitInvoiceState:
    PENDING = "pending"  # 待开票: waiting for finance
    ISSUED = "issued"  # 已开票
    REJECTED = "rejected"  # 已驳回: the orders are free to be invoiced again
    # the records were taken by another application between the query and 确定: nothing is kept
    REFUSED = "refused"

    LABELS = {PENDING: "待开票", ISSUED: "已开票", REJECTED: "已驳回", REFUSED: "未受理"}


@dataclass
class UnitInvoiceLine:
    """One record being invoiced: a paid order of a trainee of the unit."""

    order_no: str
    trainee_id: int
    amount_cents: int


@dataclass
class UnitInvoiceInput:
    application_no: str
    applicant_id: int
    qualification_id: int
    school_id: int
    unit_name: str
    tax_id: str
    email: str
    training_year: int
    lines: list[UnitInvoiceLine]
    submitted_at: str
    remind_after_seconds: float
    due_after_seconds: float

    @property
    def amount_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass
class UnitInvoiceDecided:
    application_no: str
    state: str  # issued / rejected
    reason: str
    reviewer_id: int
    decided_at: str


@dataclass
class UnitInvoiceIssued:
    application_no: str
    invoice_no: str
    pdf_path: str  # relative to settings.files_dir


@dataclass
class UnitInvoiceView:
    application_no: str
    state: str
    reason: str = ""
    invoice_no: str = ""


def make_application_no(now: datetime, serial: int) -> str:
    """Readable and sortable: U20261128223015-4821 (U keeps it apart from personal applications)."""
    return f"U{beijing_time(now):%Y%m%d%H%M%S}-{serial:04d}"


def parse_year(value: str | int | None) -> int:
    """The query's 年份, or ``YearRequired``."""
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise DomainError("YearRequired")
    return int(text)


def validate_unit_invoice_request(
    order_nos: list[str], available: dict[str, int], held: set[str], email: str
) -> str:
    """Checks the ticked records against what the query offers right now; returns the e-mail.

    ``available`` maps the orders open for invoicing to their amounts; ``held`` are ticked orders a
    live application (personal or unit) holds: ``InvoiceAlreadyRequested``. Any other ticked order
    that is not available (refunded, not paid, not the unit's) is ``OrderNotInvoiceable``.
    """
    check_ticked_orders(order_nos, available, held, none_ticked="NoRecordsSelected")
    return validate_email(email)
