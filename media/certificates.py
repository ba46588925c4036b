"""From a stored certificate (any object with its snapshot fields) to the view the PDF is made from.

Shared by the issuing activity (renders the PDF once) and the preview page (shows the same markup),
so the two can never differ."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from media.pdf import CertificateView

SHANGHAI = ZoneInfo("Asia/Shanghai")


class CertificateFacts(Protocol):
    cert_no: str
    verify_code: str
    trainee_name: str
    id_card_masked: str
    course_title: str
    hours: Decimal
    training_year: int
    school_name: str
    issued_at: datetime

    @property
    def subject_category_label(self) -> str: ...

    @property
    def training_type_label(self) -> str: ...


def verify_url(base_url: str, verify_code: str) -> str:
    return f"{base_url.rstrip('/')}/verify/{verify_code}"


def issued_on(issued_at: datetime) -> str:
    """2026年11月28日 (the date in Asia/Shanghai)."""
    local = issued_at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def certificate_view(cert: CertificateFacts, base_url: str) -> CertificateView:
    return CertificateView(
        cert_no=cert.cert_no,
        trainee_name=cert.trainee_name,
        id_card_masked=cert.id_card_masked,
        course_title=cert.course_title,
        hours=cert.hours,
        subject_category_label=cert.subject_category_label,
        training_type_label=cert.training_type_label,
        training_year=cert.training_year,
        school_name=cert.school_name,
        issued_on=issued_on(cert.issued_at),
        verify_url=verify_url(base_url, cert.verify_code),
    )
