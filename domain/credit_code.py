"""Unified social credit code (统一社会信用代码, GB 32100-2015) and taxpayer ids (纳税人识别号)."""

from __future__ import annotations

import re

from domain.errors import DomainError

#: Positions 1–2 and 9–18 use these 31 symbols (no I O S V Z), valued 0–30 in this order.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
#: Weight of position i (1-based) is 3^(i-1) mod 31.
WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))

_CODE_RE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$")
_TAX_ID_RE = re.compile(r"^[0-9A-Z]{15}$|^[0-9A-Z]{18}$|^[0-9A-Z]{20}$")


def _normalise(code: str) -> str:
    return code.strip().upper()


def check_char(first17: str) -> str:
    """The check character (position 18) for the first 17 characters of a credit code."""
    first17 = _normalise(first17)
    if len(first17) != 17 or any(ch not in _VALUE for ch in first17):
        raise ValueError("first17 must be 17 characters of the credit-code alphabet")
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """True if ``code`` (after strip/upper) has the GB 32100 shape and a correct check character."""
    code = _normalise(code)
    if not _CODE_RE.match(code):
        return False
    return check_char(code[:17]) == code[17]


def validate_credit_code(code: str) -> str:
    """Normalised code, or ``DomainError("CreditCodeInvalid")``."""
    code = _normalise(code)
    if not is_valid_credit_code(code):
        raise DomainError("CreditCodeInvalid")
    return code


def validate_tax_id(tax_id: str) -> str:
    """Normalised taxpayer id: 15, 18 or 20 letters/digits; an 18-character id must be a valid
    credit code (``CreditCodeInvalid``), any other shape is ``TaxIdInvalid``."""
    tax_id = _normalise(tax_id)
    if not _TAX_ID_RE.match(tax_id):
        raise DomainError("TaxIdInvalid")
    if len(tax_id) == 18:
        return validate_credit_code(tax_id)
    return tax_id


def make_credit_code(first17: str) -> str:
    """A valid credit code built from 17 characters (for demo data)."""
    first17 = _normalise(first17)
    return first17 + check_char(first17)
