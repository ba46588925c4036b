"""Side effects of the personal invoice process: the application projection, the shared order guard,
issuing into the invoice register (number + PDF), and the red-letter reversal of a refunded order.

The issuing steps at the bottom (current amounts, blue invoice, PDF) serve the unit invoice too
(activities/unit_invoice.py): both processes invoice orders by the same rules into one register.

Every activity is idempotent: records are keyed by the application number, the register by
`issue_key`, the PDF by the invoice number (rendered only while the file is missing).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from config import Settings
from db.base import utcnow
from db.invoice_guard import claim_orders_and_commit, release_orders
from db.invoice_register import SHANGHAI, blue_key, find_invoice, red_key, register_invoice
from db.models.catalog import School
from db.models.invoice_guard import InvoicedOrder, InvoiceKind
from db.models.invoices import Invoice, PersonalInvoiceApplication, PersonalInvoiceItem
from db.models.orders import Order, Refund
from db.models.unit_invoice import UnitInvoiceApplication, UnitInvoiceItem
from db.models.users import User
from db.notices import add_notice
from domain.invoicing import ITEM_NAME, InvoiceRecorded, TaxRate
from domain.notices import invoice_issued, invoice_rejected
from domain.personal_invoice import (
    ApplicationClosed,
    InvoiceState,
    IssuedInvoice,
    IssueRequest,
    PersonalInvoiceInput,
    invoiceable_cents,
)
from media.pdf import InvoiceView, invoice_pdf

INVOICE_DIR = "invoices"  # PDFs by invoice number, personal and unit invoices alike


class InvoiceActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    @activity.defn(name="invoices.record_application")
    async def record_application(self, app: PersonalInvoiceInput) -> InvoiceRecorded:
        """The application, its items and the order claims in one transaction — or nothing at all
        when another application (personal or unit) holds one of the orders."""
        order_nos = [line.order_no for line in app.lines]
        async with self.sessionmaker() as session:
            if await session.get(PersonalInvoiceApplication, app.application_no) is not None:
                return InvoiceRecorded()  # a retried activity: already on record
            session.add(_application(app))
            await session.flush()
            session.add_all(
                PersonalInvoiceItem(application_no=app.application_no, order_no=line.order_no,
                                    amount_cents=line.amount_cents)
                for line in app.lines
            )
            taken = await claim_orders_and_commit(
                session, order_nos, kind=InvoiceKind.PERSONAL, application_no=app.application_no
            )
        return InvoiceRecorded(taken_order_nos=taken)

    @activity.defn(name="invoices.close_application")
    async def close_application(self, closed: ApplicationClosed) -> None:
        """已驳回 (with the reason) or 已取消; either way the orders are free to be invoiced again."""
        async with self.sessionmaker() as session:
            done = await session.execute(
                update(PersonalInvoiceApplication)
                .where(
                    PersonalInvoiceApplication.application_no == closed.application_no,
                    PersonalInvoiceApplication.status == InvoiceState.PENDING,
                )
                .values(status=closed.state, reason=closed.reason, closed_at=utcnow())
            )
            if done.rowcount and closed.state == InvoiceState.REJECTED:  # type: ignore[attr-defined]
                trainee_id = await session.scalar(
                    select(PersonalInvoiceApplication.trainee_id).where(
                        PersonalInvoiceApplication.application_no == closed.application_no
                    )
                )
                if trainee_id is not None:
                    no = closed.application_no
                    await add_notice(session, invoice_rejected(trainee_id, no, closed.reason, f"/my/invoices/{no}"))
            await release_orders(session, closed.application_no)
            await session.commit()

    @activity.defn(name="invoices.issue")
    async def issue(self, req: IssueRequest) -> IssuedInvoice:
        """The invoice in the register (numbered once), then its PDF under files_dir/invoices/."""
        invoice, seller = await self._register_blue(req)
        assert invoice.invoice_no is not None
        relative = invoice_pdf_path(invoice.invoice_no)
        if invoice.pdf_path != relative or not (self.settings.files_dir / relative).is_file():
            view = await self._pdf_view(invoice, seller, req.drawer_id)
            await save_invoice_pdf(self.settings.files_dir / relative, view)
            async with self.sessionmaker() as session:
                await session.execute(update(Invoice).where(Invoice.id == invoice.id).values(pdf_path=relative))
                await session.commit()
        return IssuedInvoice(
            application_no=req.application_no,
            invoice_no=invoice.invoice_no,
            pdf_path=relative,
            amount_cents=invoice.amount_cents,
            seller_name=seller.name,
        )

    @activity.defn(name="invoices.mark_issued")
    async def mark_issued(self, application_no: str) -> None:
        """已开票: the invoice went out by e-mail."""
        async with self.sessionmaker() as session:
            now = utcnow()
            await session.execute(
                update(PersonalInvoiceApplication)
                .where(
                    PersonalInvoiceApplication.application_no == application_no,
                    PersonalInvoiceApplication.status == InvoiceState.PENDING,
                )
                .values(status=InvoiceState.ISSUED, closed_at=now)
            )
            await session.execute(
                update(Invoice)
                .where(Invoice.issue_key == blue_key(application_no), Invoice.emailed_at.is_(None))
                .values(emailed_at=now)
            )
            row = (
                await session.execute(
                    select(PersonalInvoiceApplication.trainee_id, Invoice.invoice_no)
                    .join(Invoice, Invoice.issue_key == blue_key(application_no))
                    .where(
                        PersonalInvoiceApplication.application_no == application_no,
                        PersonalInvoiceApplication.status == InvoiceState.ISSUED,
                    )
                )
            ).first()
            if row is not None and row[1]:
                link = f"/my/invoices/{application_no}"
                await add_notice(session, invoice_issued(row[0], application_no, row[1], link))
            await session.commit()

    @activity.defn(name="invoices.reverse_for_refund")
    async def reverse_for_refund(self, order_no: str, refund_no: str, amount_cents: int) -> str | None:
        return await reverse_for_refund(self.sessionmaker, order_no, refund_no, amount_cents)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.record_application,
            self.close_application,
            self.issue,
            self.mark_issued,
            self.reverse_for_refund,
        ]

    # ---- steps ----------------------------------------------------------------------------------

    async def _register_blue(self, req: IssueRequest) -> tuple[Invoice, School]:
        async with self.sessionmaker() as session:
            app = await session.get(PersonalInvoiceApplication, req.application_no)
            assert app is not None, req.application_no
            school = await session.get(School, app.school_id)
            assert school is not None
            invoice = await find_invoice(session, blue_key(req.application_no))
            if invoice is None:
                amounts = await _applied_amounts(session, req.application_no)
                invoice = await register_blue_invoice(
                    session,
                    app,
                    school,
                    source=InvoiceKind.PERSONAL,
                    buyer_title=app.title,
                    amount_cents=sum(amounts.values()),
                    issued_at=utcnow(),
                )
            return invoice, school

    async def _pdf_view(self, invoice: Invoice, seller: School, drawer_id: int | None) -> InvoiceView:
        async with self.sessionmaker() as session:
            amounts = await _applied_amounts(session, invoice.application_no)
            drawer = await session.get(User, drawer_id) if drawer_id is not None else None
        return invoice_view(invoice, seller, amounts, "订单号：", drawer)


async def _applied_amounts(session: AsyncSession, application_no: str) -> dict[str, int]:
    items = (
        await session.scalars(select(PersonalInvoiceItem).where(PersonalInvoiceItem.application_no == application_no))
    ).all()
    return await current_amounts(session, [(item.order_no, item.amount_cents) for item in items])


def _application(app: PersonalInvoiceInput) -> PersonalInvoiceApplication:
    return PersonalInvoiceApplication(
        application_no=app.application_no,
        trainee_id=app.trainee_id,
        school_id=app.school_id,
        title_type=app.title_type,
        title=app.title,
        tax_id=app.tax_id,
        email=app.email,
        amount_cents=app.amount_cents,
        status=InvoiceState.PENDING,
        workflow_id=activity.info().workflow_id,
        created_at=datetime.fromisoformat(app.submitted_at),
    )


async def reverse_for_refund(
    sessionmaker: async_sessionmaker[AsyncSession], order_no: str, refund_no: str, amount_cents: int
) -> str | None:
    """Records a red-letter invoice (红冲) for a refund of an invoiced order; returns its number, or
    None when the order had no issued invoice. Keyed by the refund number: a retry, or the same
    refund reported twice, records one reversal. Works for personal and unit invoices alike (the
    shared guard says which application holds the order)."""
    key = red_key(refund_no)
    async with sessionmaker() as session:
        existing = await find_invoice(session, key)
        if existing is not None:
            return existing.invoice_no
        guard = await session.get(InvoicedOrder, order_no)
        blue = await _blue_invoice(session, guard) if guard is not None else None
        if guard is None or blue is None:
            return None  # never invoiced, or still 待开票 (issuing leaves the refunded part out)
        reversed_before = await session.scalar(
            select(func.coalesce(func.sum(Invoice.amount_cents), 0)).where(
                Invoice.original_invoice_no == blue.invoice_no, Invoice.order_no == order_no
            )
        )
        amount = min(amount_cents, await _invoiced_for_order(session, guard, order_no) + int(reversed_before or 0))
        if amount <= 0:
            return None
        try:
            red = await register_invoice(
                session,
                issue_key=key,
                kind="red",
                source=guard.kind,
                application_no=guard.application_no,
                school_id=blue.school_id,
                buyer_title=blue.buyer_title,
                buyer_tax_id=blue.buyer_tax_id,
                email=blue.email,
                amount_cents=-amount,
                tax_rate=blue.tax_rate,
                issued_at=utcnow(),
                original_invoice_no=blue.invoice_no,
                order_no=order_no,
                refund_no=refund_no,
            )
            await session.commit()
        except IntegrityError:
            await session.rollback()
            found = await find_invoice(session, key)
            assert found is not None
            return found.invoice_no
        return red.invoice_no


@dataclass
class _Blue:
    invoice_no: str
    school_id: int
    buyer_title: str
    buyer_tax_id: str | None
    email: str
    tax_rate: str


async def _blue_invoice(session: AsyncSession, guard: InvoicedOrder) -> _Blue | None:
    """The issued invoice of the application that holds the order (personal: our register; unit: the
    unit application, which numbers its invoices itself)."""
    if guard.kind == InvoiceKind.PERSONAL:
        inv = await find_invoice(session, blue_key(guard.application_no))
        if inv is None or inv.invoice_no is None:
            return None
        return _Blue(inv.invoice_no, inv.school_id, inv.buyer_title, inv.buyer_tax_id, inv.email, inv.tax_rate)
    unit = await session.get(UnitInvoiceApplication, guard.application_no)
    if unit is None or not unit.invoice_no:
        return None
    school = await session.get(School, unit.school_id)
    assert school is not None
    return _Blue(unit.invoice_no, unit.school_id, unit.unit_name, unit.tax_id, unit.email, school.tax_rate)


async def _invoiced_for_order(session: AsyncSession, guard: InvoicedOrder, order_no: str) -> int:
    item_model: type[PersonalInvoiceItem] | type[UnitInvoiceItem] = (
        PersonalInvoiceItem if guard.kind == InvoiceKind.PERSONAL else UnitInvoiceItem
    )
    cents = await session.scalar(
        select(item_model.amount_cents).where(
            item_model.application_no == guard.application_no, item_model.order_no == order_no
        )
    )
    return int(cents or 0)


# ---- issuing steps shared with the unit invoice (activities/unit_invoice.py) -----------------


def invoice_pdf_path(invoice_no: str) -> str:
    """Where an invoice's PDF lives, relative to settings.files_dir."""
    return f"{INVOICE_DIR}/{invoice_no}.pdf"


async def current_amounts(session: AsyncSession, items: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Per order of an application's items (order number, amount applied for): what was applied
    for, less anything refunded since (a course withdrawn while the application waited is not
    invoiced)."""
    amounts: dict[str, int] = {}
    for order_no, applied_cents in items:
        order = await session.get(Order, order_no)
        assert order is not None
        refunds = (
            await session.execute(select(Refund.trade_no, Refund.amount_cents).where(Refund.order_no == order_no))
        ).all()
        now = invoiceable_cents(order.amount_cents, order.trade_no, [(t, c) for t, c in refunds])
        amounts[order_no] = min(applied_cents, now)
    return amounts


async def register_blue_invoice(
    session: AsyncSession,
    app: PersonalInvoiceApplication | UnitInvoiceApplication,
    seller: School,
    *,
    source: str,
    buyer_title: str,
    amount_cents: int,
    issued_at: datetime,
) -> Invoice:
    """The application's invoice, numbered in the register and noted on the application in one
    transaction (committed). When two attempts race on the issue key, the other one's invoice."""
    key = blue_key(app.application_no)
    try:
        invoice = await register_invoice(
            session,
            issue_key=key,
            kind="blue",
            source=source,
            application_no=app.application_no,
            school_id=app.school_id,
            buyer_title=buyer_title,
            buyer_tax_id=app.tax_id,
            email=app.email,
            amount_cents=amount_cents,
            tax_rate=seller.tax_rate,
            issued_at=issued_at,
        )
        app.invoice_no = invoice.invoice_no
        await session.commit()
    except IntegrityError:
        await session.rollback()
        found = await find_invoice(session, key)
        assert found is not None, key
        return found
    return invoice


def invoice_view(
    invoice: Invoice, seller: School, amounts: dict[str, int], remark_prefix: str, drawer: User | None
) -> InvoiceView:
    """What the PDF shows: one line per order still invoiceable, the order numbers in the remark."""
    assert invoice.invoice_no is not None
    return InvoiceView(
        invoice_no=invoice.invoice_no,
        issued_on=invoice.issued_at.astimezone(SHANGHAI).strftime("%Y年%m月%d日"),
        buyer_title=invoice.buyer_title,
        buyer_tax_id=invoice.buyer_tax_id,
        seller_name=seller.name,
        seller_tax_id=seller.tax_id,
        items=[(ITEM_NAME, cents) for cents in amounts.values() if cents],
        rate_label=TaxRate(invoice.tax_rate).label,
        net_cents=invoice.net_cents,
        tax_cents=invoice.tax_cents,
        total_cents=invoice.amount_cents,
        remark=remark_prefix + "、".join(amounts),
        drawer=drawer.name if drawer is not None else "",
    )


async def save_invoice_pdf(path: Path, view: InvoiceView) -> None:
    """Renders the PDF off the event loop and writes it under a temporary name first: never a
    half-written PDF under the final name."""
    pdf = await asyncio.to_thread(invoice_pdf, view)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(pdf)
    os.replace(tmp, path)
