"""集体开票: projections written by UnitQualificationWorkflow and UnitInvoiceWorkflow's activities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcnow
from db.models.users import User
from domain.group_invoicing import QualificationState, UnitInvoiceState


class UnitQualification(Base):
    """One application of a unit for group invoicing (a rejected unit applies again: attempt n+1)."""

    __tablename__ = "unit_qualifications"
    # the workflow id unit-qualification-{credit_code}-{attempt} is unique; so is its row
    __table_args__ = (UniqueConstraint("credit_code", "attempt", name="uq_unit_qualifications_code_attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(20), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    unit_name: Mapped[str] = mapped_column(String(100), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # relative to settings.files_dir; the re-encoded 委托书 image
    authorization_path: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default=QualificationState.UNDER_REVIEW, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    workflow_id: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])

    @property
    def status_label(self) -> str:
        return QualificationState.LABELS.get(self.status, self.status)


class UnitInvoiceApplication(Base):
    """单位开票: one application covering paid orders of the unit's trainees for one training year."""

    __tablename__ = "unit_invoice_applications"

    application_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("unit_qualifications.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    unit_name: Mapped[str] = mapped_column(String(100))
    tax_id: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))
    training_year: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=UnitInvoiceState.PENDING, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    invoice_no: Mapped[str | None] = mapped_column(String(20), nullable=True, unique=True)
    pdf_path: Mapped[str | None] = mapped_column(String(200), nullable=True)
    workflow_id: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(nullable=True)

    items: Mapped[list[UnitInvoiceItem]] = relationship(
        back_populates="application", order_by="UnitInvoiceItem.id"
    )
    qualification: Mapped[UnitQualification] = relationship()

    @property
    def status_label(self) -> str:
        return UnitInvoiceState.LABELS.get(self.status, self.status)


class UnitInvoiceItem(Base):
    """One order on a unit invoice (kept after a rejection, as the record of what was asked)."""

    __tablename__ = "unit_invoice_items"
    __table_args__ = (UniqueConstraint("application_no", "order_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_no: Mapped[str] = mapped_column(ForeignKey("unit_invoice_applications.application_no"), index=True)
    order_no: Mapped[str] = mapped_column(ForeignKey("orders.order_no"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    amount_cents: Mapped[int] = mapped_column(Integer)

    application: Mapped[UnitInvoiceApplication] = relationship(back_populates="items")
    trainee: Mapped[User] = relationship()
