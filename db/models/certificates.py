"""学习证明: one certificate per completed enrollment, with the facts it certifies frozen at issue.

Written by `activities/certificates.py` (issue) and the staff revoke endpoint (status change, with an
append-only event). The snapshot columns keep the certificate readable and verifiable even if the
course, school or trainee record changes later.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcnow
from domain.catalog import SubjectCategory, TrainingType
from domain.certificates import CertificateStatus


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # one certificate per enrollment, however often the study workflow asks
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    # human readable (HN2026HUNAU000123); unique, derived from id
    cert_no: Mapped[str] = mapped_column(String(40), unique=True)
    # random public id for the QR link (secrets.token_urlsafe); never the primary key
    verify_code: Mapped[str] = mapped_column(String(64), unique=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    trainee_name: Mapped[str] = mapped_column(String(50))
    id_card_masked: Mapped[str] = mapped_column(String(18), default="")
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    course_title: Mapped[str] = mapped_column(String(200))
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    subject_category: Mapped[str] = mapped_column(String(20))
    training_type: Mapped[str] = mapped_column(String(20))
    training_year: Mapped[int] = mapped_column(Integer)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    school_name: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # relative to settings.files_dir; None until the PDF has been rendered and stored
    pdf_path: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default=CertificateStatus.VALID, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    events: Mapped[list[CertificateEvent]] = relationship(order_by="CertificateEvent.id")

    @property
    def status_label(self) -> str:
        return CertificateStatus.LABELS.get(self.status, self.status)

    @property
    def is_valid(self) -> bool:
        return self.status == CertificateStatus.VALID

    @property
    def subject_category_label(self) -> str:
        try:
            return SubjectCategory(self.subject_category).label
        except ValueError:
            return self.subject_category

    @property
    def training_type_label(self) -> str:
        try:
            return TrainingType(self.training_type).label
        except ValueError:
            return self.training_type


class CertificateEvent(Base):
    """Append-only history of a certificate: issued, revoked (who, when, why)."""

    __tablename__ = "certificate_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # issued / revoked
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
