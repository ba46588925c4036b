"""Invoices: personal invoice applications with their orders, and the register of issued invoices.

Projections of the invoice workflows; only their activities write here. `invoices` registers every
personal invoice and every red-letter reversal (of personal and unit invoices alike): its row id is
the number's sequence on channel 1, so numbers never repeat (db/invoice_register.py; unit invoices
number on channel 2 themselves). "An order is never invoiced twice" is the shared guard table
invoiced_orders (db/models/invoice_guard.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcnow


class PersonalInvoiceApplication(Base):
    """个人发票申请: one 发票申请 covering one or more paid orders of one school."""

    __tablename__ = "personal_invoice_applications"

    application_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    title_type: Mapped[str] = mapped_column(String(10))  # personal / unit (domain.invoicing.TitleType)
    title: Mapped[str] = mapped_column(String(100))
    tax_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str] = mapped_column(String(254))
    amount_cents: Mapped[int] = mapped_column(Integer)
    # pending (待开票) / issued (已开票) / rejected (已驳回) / cancelled (已取消)
    status: Mapped[str] = mapped_column(String(10), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    invoice_no: Mapped[str | None] = mapped_column(String(20), nullable=True)
    workflow_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)

    items: Mapped[list[PersonalInvoiceItem]] = relationship(order_by="PersonalInvoiceItem.id")


class PersonalInvoiceItem(Base):
    """One order on a personal invoice application (kept after a rejection or cancel, as the record of
    what was asked). Whether an order is taken is the shared guard's business (invoiced_orders)."""

    __tablename__ = "personal_invoice_items"
    __table_args__ = (UniqueConstraint("application_no", "order_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_no: Mapped[str] = mapped_column(
        ForeignKey("personal_invoice_applications.application_no"), index=True
    )
    order_no: Mapped[str] = mapped_column(ForeignKey("orders.order_no"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)


class Invoice(Base):
    """An issued electronic invoice. Its row id is the number's sequence, so numbers never repeat.

    kind "blue" is a normal invoice; "red" a red-letter reversal (红字发票) with a negative amount,
    linked to the blue one and to the refund that caused it."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_no: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    # idempotency key of the issuing activity: "blue:<application_no>" / "red:<refund_no>"
    issue_key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(5))  # blue / red
    source: Mapped[str] = mapped_column(String(10), default="personal")  # personal / unit
    application_no: Mapped[str] = mapped_column(String(32), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    buyer_title: Mapped[str] = mapped_column(String(100))
    buyer_tax_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    amount_cents: Mapped[int] = mapped_column(Integer)  # tax-inclusive; negative for red
    net_cents: Mapped[int] = mapped_column(Integer)
    tax_cents: Mapped[int] = mapped_column(Integer)
    tax_rate: Mapped[str] = mapped_column(String(10))
    original_invoice_no: Mapped[str | None] = mapped_column(String(20), nullable=True)
    order_no: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # red: refunded order
    refund_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdf_path: Mapped[str] = mapped_column(String(300), default="")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column(nullable=True)
