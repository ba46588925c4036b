"""学习证明 (study certificate): the activity contract with the study workflow, numbering and masking."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CertificateRequest:
    """Sent by the study workflow when an enrollment is completed (activity ``certificates.issue``)."""

    enrollment_id: int


@dataclass
class CertificateIssued:
    cert_no: str
    verify_code: str


class CertificateStatus:
    VALID = "valid"  # 有效
    REVOKED = "revoked"  # 已撤销

    LABELS = {VALID: "有效", REVOKED: "已撤销"}


def make_cert_no(year: int, school_code: str, seq: int) -> str:
    """Readable and unique: HN + year of issue + school code + 6-digit sequence (HN2026HUNAU000123).

    The sequence is the certificate's own row id, so two certificates issued at the same moment can
    never share a number; beyond 999999 it simply grows a digit."""
    return f"HN{year}{school_code.upper()}{seq:06d}"


def mask_name(name: str) -> str:
    """What a verifier may see of a name: 张三 → 张*, 欧阳小明 → 欧**明."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_card(id_card: str) -> str:
    """430102199001011234 → 4301**********1234 (an empty or short number is hidden entirely)."""
    id_card = id_card.strip()
    if len(id_card) < 10:
        return "*" * len(id_card)
    return id_card[:4] + "*" * (len(id_card) - 8) + id_card[-4:]
