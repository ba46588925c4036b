"""单位开票: the projections written by UnitInvoiceWorkflow's activities (activities/unit_invoice.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcnow
from db.models.unit_qualification import UnitQualification
from db.models.users import User
from domain.unit_invoice import UnitInvoiceState


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
