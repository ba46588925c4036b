"""集体开票 (group invoicing): a unit's qualification and its unit invoices — shapes and rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.beijing_time import beijing_time
from domain.credit_code import validate_tax_id
from domain.errors import DomainError
from domain.invoicing import check_ticked_orders, validate_email

UNIT_NAME_MAX = 100


class QualificationState:
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"

    LABELS = {UNDER_REVIEW: "审核中", APPROVED: "已通过", REJECTED: "已驳回"}


class UnitInvoiceState:
    PENDING = "pending"  # 待开票: waiting for finance
    ISSUED = "issued"  # 已开票
    REJECTED = "rejected"  # 已驳回: the orders are free to be invoiced again
    # the records were taken by another application between the query and 确定: nothing is kept
    REFUSED = "refused"

    LABELS = {PENDING: "待开票", ISSUED: "已开票", REJECTED: "已驳回", REFUSED: "未受理"}


# ---- qualification ---------------------------------------------------------------------------


@dataclass
class QualificationInput:
    credit_code: str
    attempt: int  # n-th application for this unit (a rejected unit may apply again)
    unit_name: str
    applicant_id: int
    applicant_name: str
    authorization_path: str  # relative to settings.files_dir
    submitted_at: str  # ISO 8601
    remind_after_seconds: float
    due_after_seconds: float


@dataclass
class QualificationDecided:
    qualification_id: int
    state: str  # approved / rejected
    reason: str
    reviewer_id: int
    decided_at: str


@dataclass
class QualificationView:
    qualification_id: int
    state: str
    reason: str = ""


def validate_qualification_form(unit_name: str, tax_id: str) -> tuple[str, str]:
    """(unit name, normalised unit tax id) of the 集体开票 form, or the first refusal."""
    name = " ".join((unit_name or "").split())
    if not name:
        raise DomainError("UnitNameRequired")
    if len(name) > UNIT_NAME_MAX:
        raise DomainError("UnitNameTooLong")
    if not (tax_id or "").strip():
        raise DomainError("UnitTaxIdRequired")
    try:
        return name, validate_tax_id(tax_id)
    except DomainError as err:
        # the form's field is 单位识别号: a message about 纳税人识别号 would name a field not on the page
        code = {"TaxIdInvalid": "UnitTaxIdInvalid", "CreditCodeInvalid": "UnitCreditCodeInvalid"}.get(err.code)
        if code is None:
            raise
        raise DomainError(code) from None


def refuse_new_qualification(unit_latest: str | None, applicant_latest: str | None) -> None:
    """A unit (and an applicant) has at most one application under review or approved at a time;
    after a rejection it may apply again."""
    for state in (unit_latest, applicant_latest):
        if state == QualificationState.UNDER_REVIEW:
            raise DomainError("QualificationPending")
        if state == QualificationState.APPROVED:
            raise DomainError("UnitAlreadyApproved")


# ---- unit invoice ----------------------------------------------------------------------------


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
