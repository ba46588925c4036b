"""The one guard that keeps an order from being invoiced twice, shared by personal and unit invoices.

A row means "an invoice application holds this order" (待开票 or 已开票). The primary key is the
order number, so a second claim fails in the database, whichever process makes it. The claim is
written by the activity that records the application and deleted when that application is rejected
or cancelled (helpers in db/invoice_guard.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class InvoiceKind:
    PERSONAL = "personal"
    UNIT = "unit"


class InvoicedOrder(Base):
    __tablename__ = "invoiced_orders"

    order_no: Mapped[str] = mapped_column(ForeignKey("orders.order_no"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # personal / unit
    # the personal or unit application that holds the order
    application_no: Mapped[str] = mapped_column(String(32), index=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
