"""集体开票资格 (unit qualification): a unit's right to ask for unit invoices, reviewed by the platform
admin — shapes and rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from domain.credit_code import validate_tax_id
from domain.errors import DomainError

UNIT_NAME_MAX = 100


class QualificationState:
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"

    LABELS = {UNDER_REVIEW: "审核中", APPROVED: "已通过", REJECTED: "已驳回"}


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


