"""Checkout claims, written by the web layer before it starts an order process.

`checkouts` holds each order number once, with the checkout form's idempotency key, so that a form
sent again (a retry after a lost answer) finds the order it made. `open_order_lines` lets a trainee
hold at most one open (待支付) order per course and training year: its unique constraint refuses a
second one, however many checkouts race. The order activities delete an order's lines when it is
paid (the enrollment takes over), closed or cancelled.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class Checkout(Base):
    __tablename__ = "checkouts"
    __table_args__ = (UniqueConstraint("trainee_id", "checkout_key"),)

    order_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # the form's idempotency key; NULL for a caller without one (never equal to another NULL)
    checkout_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OpenOrderLine(Base):
    __tablename__ = "open_order_lines"
    __table_args__ = (UniqueConstraint("trainee_id", "course_id", "training_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(ForeignKey("checkouts.order_no"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    training_year: Mapped[int] = mapped_column(Integer)
