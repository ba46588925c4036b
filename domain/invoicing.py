"""Electronic invoice (数电发票) rules: buyer details, tax split and invoice numbers."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from domain.credit_code import validate_tax_id
from domain.errors import DomainError

ITEM_NAME = "*非学历教育服务*培训费"
TAX_CLASS_CODE = "3070201020000000000"
HUNAN_PROVINCE_CODE = "43"

_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$"
)
_INVOICE_NO_RE = re.compile(r"^\d{2}" + HUNAN_PROVINCE_CODE + r"\d{16}$")


def validate_email(s: str) -> str:
    """Trimmed e-mail address, or ``DomainError("EmailInvalid")``."""
    s = (s or "").strip()
    if len(s) > 254 or ".." in s or not _EMAIL_RE.match(s):
        raise DomainError("EmailInvalid")
    return s


def check_ticked_orders(
    order_nos: list[str], offered: Container[str], held: Container[str], *, none_ticked: str
) -> None:
    """The orders ticked for an invoice (personal or unit), refused in this order: none ticked
    (`none_ticked`: each form words it its own way); one a live application of either kind holds
    (``InvoiceAlreadyRequested``); one not offered for invoicing now (``OrderNotInvoiceable``)."""
    if not order_nos:
        raise DomainError(none_ticked)
    if any(no in held for no in order_nos):
        raise DomainError("InvoiceAlreadyRequested")
    if any(no not in offered for no in order_nos):
        raise DomainError("OrderNotInvoiceable")


class TitleType(StrEnum):
    """发票抬头类型."""

    personal = "personal"
    unit = "unit"

    @property
    def label(self) -> str:
        return {"personal": "个人", "unit": "单位"}[self.value]


def validate_buyer(title_type: TitleType | str, title: str, tax_id: str | None) -> tuple[str, str | None]:
    """(title, normalised tax id or None) for an invoice application.

    A unit title needs a tax id (``TaxIdRequired``); a personal title may leave it empty, but a
    given one is validated (``TaxIdInvalid`` / ``CreditCodeInvalid``).
    """
    try:
        kind = TitleType(title_type)
    except ValueError:
        raise DomainError("TitleTypeInvalid") from None
    title = (title or "").strip()
    if not title:
        raise DomainError("TitleRequired")
    tax_id = (tax_id or "").strip()
    if not tax_id:
        if kind is TitleType.unit:
            raise DomainError("TaxIdRequired")
        return title, None
    return title, validate_tax_id(tax_id)


class TaxRate(StrEnum):
    """Per-school invoice tax rate."""

    simplified_3 = "0.03"
    general_6 = "0.06"
    exempt = "exempt"

    @property
    def label(self) -> str:
        return {"0.03": "3%", "0.06": "6%", "exempt": "免税"}[self.value]

    @property
    def ratio(self) -> Decimal:
        return Decimal(0) if self is TaxRate.exempt else Decimal(self.value)


def split_tax(amount_cents: int, rate: TaxRate | str) -> tuple[int, int]:
    """(net_cents, tax_cents) of a tax-inclusive amount; tax is rounded half up to the fen and
    net + tax == amount."""
    try:
        r = TaxRate(rate)
    except ValueError:
        raise DomainError("TaxRateInvalid") from None
    if amount_cents < 0:
        raise DomainError("AmountInvalid")
    if r is TaxRate.exempt:
        return amount_cents, 0
    net = (Decimal(amount_cents) / (1 + r.ratio)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(net), amount_cents - int(net)


def invoice_number(year: int, channel: int, sequence: int) -> str:
    """20-digit invoice number: 2-digit year, province 43, channel digit, 15-digit sequence."""
    if not 0 <= channel <= 9:
        raise ValueError("channel must be one digit")
    if not 0 <= sequence < 10**15:
        raise ValueError("sequence must fit in 15 digits")
    if year < 0:
        raise ValueError("year must not be negative")
    return f"{year % 100:02d}{HUNAN_PROVINCE_CODE}{channel}{sequence:015d}"


def is_valid_invoice_number(s: str) -> bool:
    """True for a 20-digit Hunan invoice number."""
    return bool(_INVOICE_NO_RE.match(s))


@dataclass
class InvoiceRecorded:
    """Result of recording an application, personal or unit: the orders another application holds
    (then nothing is kept)."""

    taken_order_nos: list[str] = field(default_factory=list)
