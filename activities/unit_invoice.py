"""单位开票 (unit invoice): the application with its claims in the shared invoiced-orders guard, its
rejection, then issuing — the shared invoice register numbers it, then the PDF, the projection and the
e-mail to the unit. Every activity is idempotent: a retry changes nothing twice.

The personal invoice's `invoices.issue` reads personal applications, so the unit invoice has its own
issue activity; the steps, though, are the personal invoice's (activities/invoices.py: amounts, blue
invoice, PDF) and the number comes from the same register (db/invoice_register.py), so one sequence
covers every invoice of the platform and a red-letter reversal finds unit invoices too.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload
from temporalio import activity

from activities.invoices import (
    current_amounts,
    invoice_pdf_path,
    invoice_view,
    register_blue_invoice,
    save_invoice_pdf,
)
from activities.mail import SENDER_NAME, invoice_mail, send_mail
from config import Settings
from db.base import utcnow
from db.invoice_guard import claim_orders_and_commit, release_orders
from db.invoice_register import blue_key, find_invoice
from db.models.catalog import School
from db.models.invoice_guard import InvoiceKind
from db.models.invoices import Invoice
from db.models.unit_invoice import UnitInvoiceApplication, UnitInvoiceItem
from db.models.users import User
from db.notices import add_notice
from domain.catalog import format_money
from domain.invoicing import InvoiceRecorded
from domain.notices import invoice_issued, invoice_rejected
from domain.unit_invoice import UnitInvoiceDecided, UnitInvoiceInput, UnitInvoiceIssued, UnitInvoiceState
from media.pdf import InvoiceView

RECORDS_PAGE = "/my/group-invoicing/records"  # 开票记录, where a notice sends the applicant


class UnitInvoiceActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    @activity.defn(name="unit_invoice.record")
    async def record(self, application: UnitInvoiceInput) -> InvoiceRecorded:
        """The application, its items and the order claims in one transaction — or nothing at all
        when another application holds one of the orders."""
        order_nos = [line.order_no for line in application.lines]
        async with self.sessionmaker() as session:
            if await session.get(UnitInvoiceApplication, application.application_no) is not None:
                return InvoiceRecorded()  # a retried activity: already on record
            session.add(_application_row(application))
            await session.flush()
            session.add_all(
                UnitInvoiceItem(
                    application_no=application.application_no,
                    order_no=line.order_no,
                    trainee_id=line.trainee_id,
                    amount_cents=line.amount_cents,
                )
                for line in application.lines
            )
            taken = await claim_orders_and_commit(
                session, order_nos, kind=InvoiceKind.UNIT, application_no=application.application_no
            )
        return InvoiceRecorded(taken_order_nos=taken)

    @activity.defn(name="unit_invoice.reject")
    async def reject(self, decided: UnitInvoiceDecided) -> None:
        """已驳回 with the reason; the orders are free to be invoiced again."""
        async with self.sessionmaker() as session:
            rejected = await session.execute(
                update(UnitInvoiceApplication)
                .where(
                    UnitInvoiceApplication.application_no == decided.application_no,
                    UnitInvoiceApplication.status == UnitInvoiceState.PENDING,
                )
                .values(
                    status=UnitInvoiceState.REJECTED,
                    reason=decided.reason,
                    decided_by=decided.reviewer_id,
                    decided_at=datetime.fromisoformat(decided.decided_at),
                )
            )
            applicant_id = await session.scalar(
                select(UnitInvoiceApplication.applicant_id).where(
                    UnitInvoiceApplication.application_no == decided.application_no
                )
            )
            if rejected.rowcount and applicant_id is not None:  # type: ignore[attr-defined]
                notice = invoice_rejected(applicant_id, decided.application_no, decided.reason, RECORDS_PAGE)
                await add_notice(session, notice)
            await release_orders(session, decided.application_no)
            await session.commit()

    @activity.defn(name="unit_invoice.issue")
    async def issue(self, decided: UnitInvoiceDecided) -> UnitInvoiceIssued:
        """Registers the invoice once (a retry finds it by its issue key), renders the PDF while it is
        missing, and marks the application 已开票."""
        invoice = await self._register(decided)
        assert invoice.invoice_no is not None
        relative = invoice_pdf_path(invoice.invoice_no)
        async with self.sessionmaker() as session:
            app = await _application(session, decided.application_no)
            if not (self.settings.files_dir / relative).is_file():
                view = await _view(session, app, invoice, decided.reviewer_id)
                await save_invoice_pdf(self.settings.files_dir / relative, view)
            await session.execute(update(Invoice).where(Invoice.id == invoice.id).values(pdf_path=relative))
            app.invoice_no = invoice.invoice_no
            app.amount_cents = invoice.amount_cents
            app.pdf_path = relative
            app.status = UnitInvoiceState.ISSUED
            app.decided_by = decided.reviewer_id
            app.decided_at = app.decided_at or datetime.fromisoformat(decided.decided_at)
            app.issued_at = app.issued_at or invoice.issued_at
            notice = invoice_issued(app.applicant_id, app.application_no, invoice.invoice_no, RECORDS_PAGE)
            await add_notice(session, notice)
            await session.commit()
        return UnitInvoiceIssued(
            application_no=decided.application_no, invoice_no=invoice.invoice_no, pdf_path=relative
        )

    async def _register(self, decided: UnitInvoiceDecided) -> Invoice:
        async with self.sessionmaker() as session:
            invoice = await find_invoice(session, blue_key(decided.application_no))
            if invoice is not None:
                return invoice
            app = await _application(session, decided.application_no)
            school = await session.get(School, app.school_id)
            assert school is not None
            amounts = await _current_amounts(session, app)
            return await register_blue_invoice(
                session,
                app,
                school,
                source=InvoiceKind.UNIT,
                buyer_title=app.unit_name,
                amount_cents=sum(amounts.values()),
                issued_at=datetime.fromisoformat(decided.decided_at),
            )

    @activity.defn(name="unit_invoice.mail")
    async def mail(self, issued: UnitInvoiceIssued) -> None:
        """Sends the PDF to the e-mail given in the application, once the register says it went out
        (at-least-once: a lost acknowledgement sends it again, under the same Message-ID)."""
        key = blue_key(issued.application_no)
        async with self.sessionmaker() as session:
            invoice = await find_invoice(session, key)
            if invoice is None or invoice.emailed_at is not None:
                return
            app = await _application(session, issued.application_no)
            pdf = (self.settings.files_dir / issued.pdf_path).read_bytes()
        await send_mail(self.settings, _message(self.settings, app, pdf))
        async with self.sessionmaker() as session:
            await session.execute(
                update(Invoice)
                .where(Invoice.issue_key == key, Invoice.emailed_at.is_(None))
                .values(emailed_at=utcnow())
            )
            await session.commit()

    def all(self) -> list[Any]:
        return [self.record, self.reject, self.issue, self.mail]


def _application_row(application: UnitInvoiceInput) -> UnitInvoiceApplication:
    return UnitInvoiceApplication(
        application_no=application.application_no,
        applicant_id=application.applicant_id,
        qualification_id=application.qualification_id,
        school_id=application.school_id,
        unit_name=application.unit_name,
        tax_id=application.tax_id,
        email=application.email,
        training_year=application.training_year,
        amount_cents=application.amount_cents,
        status=UnitInvoiceState.PENDING,
        workflow_id=activity.info().workflow_id,
        created_at=datetime.fromisoformat(application.submitted_at),
    )


async def _application(session: AsyncSession, application_no: str) -> UnitInvoiceApplication:
    app = await session.get(
        UnitInvoiceApplication, application_no, options=[selectinload(UnitInvoiceApplication.items)]
    )
    assert app is not None, application_no
    return app


async def _current_amounts(session: AsyncSession, app: UnitInvoiceApplication) -> dict[str, int]:
    """The personal invoice's rule: what was applied for, less anything refunded since."""
    return await current_amounts(session, [(item.order_no, item.amount_cents) for item in app.items])


async def _view(
    session: AsyncSession, app: UnitInvoiceApplication, invoice: Invoice, reviewer_id: int
) -> InvoiceView:
    school = await session.get(School, app.school_id)
    drawer = await session.get(User, reviewer_id)
    assert school is not None
    amounts = await _current_amounts(session, app)
    remark = f"{app.training_year}年度继续教育培训费（集体开票），订单号："
    return invoice_view(invoice, school, amounts, remark, drawer)


def _message(settings: Settings, app: UnitInvoiceApplication, pdf: bytes) -> EmailMessage:
    """The unit's 电子发票 mail."""
    assert app.invoice_no is not None  # set by `issue`, with the register row this mail is sent for
    return invoice_mail(
        settings,
        to=app.email,
        invoice_no=app.invoice_no,
        subject=f"电子发票已开具：{app.unit_name}（发票号码 {app.invoice_no}）",
        body=(
            f"{app.unit_name}：\n\n"
            f"贵单位申请的{app.training_year}年度继续教育培训费电子发票已开具。\n"
            f"发票号码：{app.invoice_no}\n"
            f"价税合计：{format_money(app.amount_cents)}\n"
            f"申请编号：{app.application_no}（{len(app.items)} 条记录）\n\n"
            "电子发票见附件（PDF），也可在 个人中心 → 支付中心 → 集体开票 → 开票记录 中下载。\n\n"
            f"{SENDER_NAME}\n（本邮件由系统自动发送，请勿回复）\n"
        ),
        pdf=pdf,
    )
