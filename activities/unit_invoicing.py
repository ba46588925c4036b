"""Issuing a unit invoice (单位开票): the shared invoice register numbers it, then the PDF, the
projection and the e-mail to the unit.

The personal invoice's `invoices.issue` reads personal applications, so the unit invoice has its own
issue activity; the number, though, comes from the same register (db/invoice_register.py), so one
sequence covers every invoice of the platform and a red-letter reversal finds unit invoices too.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload
from temporalio import activity

from config import Settings
from db.base import utcnow
from db.invoice_register import SHANGHAI, find_invoice, register_invoice
from db.models.catalog import School
from db.models.group_invoicing import UnitInvoiceApplication
from db.models.invoice_guard import InvoiceKind
from db.models.invoices import Invoice
from db.models.orders import Order, Refund
from db.models.users import User
from domain.catalog import format_money
from domain.group_invoicing import UnitInvoiceDecided, UnitInvoiceIssued, UnitInvoiceState
from domain.invoicing import ITEM_NAME, TaxRate
from domain.personal_invoice import invoiceable_cents
from media.pdf import InvoiceView, invoice_pdf

INVOICE_DIR = "invoices"  # by invoice number, beside the personal invoices' PDFs
SENDER_NAME = "湖南省事业单位人员培训平台"


class UnitInvoicingActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    @activity.defn(name="unit_invoicing.issue")
    async def issue(self, d: UnitInvoiceDecided) -> UnitInvoiceIssued:
        """Registers the invoice once (a retry finds it by its issue key), renders the PDF while it is
        missing, and marks the application 已开票."""
        invoice = await self._register(d)
        assert invoice.invoice_no is not None
        relative = f"{INVOICE_DIR}/{invoice.invoice_no}.pdf"
        async with self.sessionmaker() as session:
            app = await _application(session, d.application_no)
            if not (self.settings.files_dir / relative).is_file():
                view = await _view(session, app, invoice, d.reviewer_id)
                _write_atomically(self.settings.files_dir / relative, await asyncio.to_thread(invoice_pdf, view))
            await session.execute(update(Invoice).where(Invoice.id == invoice.id).values(pdf_path=relative))
            app.invoice_no = invoice.invoice_no
            app.amount_cents = invoice.amount_cents
            app.pdf_path = relative
            app.status = UnitInvoiceState.ISSUED
            app.decided_by = d.reviewer_id
            app.decided_at = app.decided_at or datetime.fromisoformat(d.decided_at)
            app.issued_at = app.issued_at or invoice.issued_at
            await session.commit()
        return UnitInvoiceIssued(application_no=d.application_no, invoice_no=invoice.invoice_no, pdf_path=relative)

    async def _register(self, d: UnitInvoiceDecided) -> Invoice:
        key = f"blue:{d.application_no}"
        async with self.sessionmaker() as session:
            invoice = await find_invoice(session, key)
            if invoice is not None:
                return invoice
            app = await _application(session, d.application_no)
            school = await session.get(School, app.school_id)
            assert school is not None
            amounts = await _current_amounts(session, app)
            try:
                invoice = await register_invoice(
                    session,
                    issue_key=key,
                    kind="blue",
                    source=InvoiceKind.UNIT,
                    application_no=app.application_no,
                    school_id=app.school_id,
                    buyer_title=app.unit_name,
                    buyer_tax_id=app.tax_id,
                    email=app.email,
                    amount_cents=sum(amounts.values()),
                    tax_rate=school.tax_rate,
                    issued_at=datetime.fromisoformat(d.decided_at),
                )
                app.invoice_no = invoice.invoice_no
                await session.commit()
            except IntegrityError:
                await session.rollback()  # two attempts raced on the issue key: the other one's row
                invoice = await find_invoice(session, key)
                assert invoice is not None
            return invoice

    @activity.defn(name="unit_invoicing.mail")
    async def mail(self, issued: UnitInvoiceIssued) -> None:
        """Sends the PDF to the e-mail given in the application, once the register says it went out
        (at-least-once: a lost acknowledgement sends it again, under the same Message-ID)."""
        key = f"blue:{issued.application_no}"
        async with self.sessionmaker() as session:
            invoice = await find_invoice(session, key)
            if invoice is None or invoice.emailed_at is not None:
                return
            app = await _application(session, issued.application_no)
            pdf = (self.settings.files_dir / issued.pdf_path).read_bytes()
        s = self.settings
        await aiosmtplib.send(
            _message(s, app, pdf),
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user or None,
            password=s.smtp_password or None,
            start_tls=s.smtp_starttls,
            timeout=20,
        )
        async with self.sessionmaker() as session:
            await session.execute(
                update(Invoice)
                .where(Invoice.issue_key == key, Invoice.emailed_at.is_(None))
                .values(emailed_at=utcnow())
            )
            await session.commit()

    def all(self) -> list[Any]:
        return [self.issue, self.mail]


async def _application(session: AsyncSession, application_no: str) -> UnitInvoiceApplication:
    app = await session.get(
        UnitInvoiceApplication, application_no, options=[selectinload(UnitInvoiceApplication.items)]
    )
    assert app is not None, application_no
    return app


async def _current_amounts(session: AsyncSession, app: UnitInvoiceApplication) -> dict[str, int]:
    """Per order: what was applied for, less anything refunded since (a course withdrawn while the
    application waited is not invoiced) — the personal invoice's rule."""
    amounts: dict[str, int] = {}
    for item in app.items:
        order = await session.get(Order, item.order_no)
        assert order is not None
        refunds = (
            await session.execute(select(Refund.trade_no, Refund.amount_cents).where(Refund.order_no == order.order_no))
        ).all()
        now = invoiceable_cents(order.amount_cents, order.trade_no, [(t, c) for t, c in refunds])
        amounts[item.order_no] = min(item.amount_cents, now)
    return amounts


async def _view(
    session: AsyncSession, app: UnitInvoiceApplication, invoice: Invoice, reviewer_id: int
) -> InvoiceView:
    school = await session.get(School, app.school_id)
    drawer = await session.get(User, reviewer_id)
    assert school is not None and invoice.invoice_no is not None
    amounts = await _current_amounts(session, app)
    return InvoiceView(
        invoice_no=invoice.invoice_no,
        issued_on=invoice.issued_at.astimezone(SHANGHAI).strftime("%Y年%m月%d日"),
        buyer_title=invoice.buyer_title,
        buyer_tax_id=invoice.buyer_tax_id,
        seller_name=school.name,
        seller_tax_id=school.tax_id,
        items=[(ITEM_NAME, cents) for cents in amounts.values() if cents],
        rate_label=TaxRate(invoice.tax_rate).label,
        net_cents=invoice.net_cents,
        tax_cents=invoice.tax_cents,
        total_cents=invoice.amount_cents,
        remark=f"{app.training_year}年度继续教育培训费（集体开票），订单号：" + "、".join(amounts),
        drawer=drawer.name if drawer is not None else "",
    )


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # never a half-written PDF under the final name


def _message(settings: Settings, app: UnitInvoiceApplication, pdf: bytes) -> EmailMessage:
    """The unit's 电子发票 mail; the Message-ID makes a repeated send (a retry) show as one mail."""
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    msg["From"] = formataddr((SENDER_NAME, settings.mail_from))
    msg["To"] = app.email
    msg["Subject"] = f"电子发票已开具：{app.unit_name}（发票号码 {app.invoice_no}）"
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = f"<invoice-{app.invoice_no}@{domain}>"
    msg.set_content(
        f"{app.unit_name}：\n\n"
        f"贵单位申请的{app.training_year}年度继续教育培训费电子发票已开具。\n"
        f"发票号码：{app.invoice_no}\n"
        f"价税合计：{format_money(app.amount_cents)}\n"
        f"申请编号：{app.application_no}（{len(app.items)} 条记录）\n\n"
        "电子发票见附件（PDF），也可在 个人中心 → 支付中心 → 集体开票 → 开票记录 中下载。\n\n"
        f"{SENDER_NAME}\n（本邮件由系统自动发送，请勿回复）\n"
    )
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"电子发票-{app.invoice_no}.pdf")
    return msg
