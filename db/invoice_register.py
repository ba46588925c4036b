"""The register of issued invoices (table `invoices`), shared by personal and unit invoices.

`register_invoice` gives an invoice its 20-digit number (domain.invoicing.invoice_number) from the
register's row id, so the sequence is unique across every process and every worker, and it is
idempotent on `issue_key` ("blue:<application_no>", "red:<refund_no>", ...). The caller commits; on
an IntegrityError (two attempts raced on the same issue_key) it rolls back and calls again.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.invoices import Invoice
from domain.invoicing import invoice_number, split_tax

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Digit 5 of the number, the issuing channel: 1 = this platform (数电发票 via the training platform).
INVOICE_CHANNEL = 1


def blue_key(application_no: str) -> str:
    """The issue key of an application's invoice (personal or unit: application numbers differ)."""
    return f"blue:{application_no}"


def red_key(refund_no: str) -> str:
    """The issue key of the red-letter reversal recorded for a refund."""
    return f"red:{refund_no}"


async def find_invoice(session: AsyncSession, issue_key: str) -> Invoice | None:
    return await session.scalar(select(Invoice).where(Invoice.issue_key == issue_key))


async def register_invoice(
    session: AsyncSession,
    *,
    issue_key: str,
    kind: str,
    source: str,
    application_no: str,
    school_id: int,
    buyer_title: str,
    buyer_tax_id: str | None,
    email: str,
    amount_cents: int,
    tax_rate: str,
    issued_at: datetime,
    original_invoice_no: str | None = None,
    order_no: str | None = None,
    refund_no: str | None = None,
) -> Invoice:
    """The invoice for `issue_key`, numbered; a red (negative) amount splits its tax like the blue one."""
    existing = await find_invoice(session, issue_key)
    if existing is not None:
        return existing
    net, tax = split_tax(abs(amount_cents), tax_rate)
    sign = -1 if amount_cents < 0 else 1
    invoice = Invoice(
        issue_key=issue_key,
        kind=kind,
        source=source,
        application_no=application_no,
        school_id=school_id,
        buyer_title=buyer_title,
        buyer_tax_id=buyer_tax_id,
        email=email,
        amount_cents=amount_cents,
        net_cents=sign * net,
        tax_cents=sign * tax,
        tax_rate=tax_rate,
        original_invoice_no=original_invoice_no,
        order_no=order_no,
        refund_no=refund_no,
        issued_at=issued_at,
    )
    session.add(invoice)
    await session.flush()  # the row id is the sequence
    invoice.invoice_no = invoice_number(issued_at.astimezone(SHANGHAI).year, INVOICE_CHANNEL, invoice.id)
    await session.flush()
    return invoice
