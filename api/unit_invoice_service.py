"""单位开票 (unit invoice): the query of a qualified unit's open records, then an application checked
against the rules and the read models and handed to its workflow."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.temporal import start_operation, update_with_start
from api.unit_qualification_service import approved_qualification
from config import Settings
from db.invoice_guard import invoiced_order_nos
from db.models.orders import Order, OrderStatus
from db.models.unit_qualification import UnitQualification
from db.models.users import User
from domain.errors import DomainError
from domain.personal_invoice import invoiceable_cents
from domain.unit_invoice import (
    UnitInvoiceInput,
    UnitInvoiceLine,
    UnitInvoiceView,
    make_application_no,
    validate_unit_invoice_request,
)
from workflows.common import process_attributes
from workflows.unit_invoice import UnitInvoiceWorkflow, unit_invoice_workflow_id


@dataclass
class OpenRecord:
    """A row of 单位开票's query: one paid, not yet invoiced order of a trainee of the unit."""

    order_no: str
    trainee_id: int
    trainee_name: str
    phone: str
    titles: list[str]
    paid_at: datetime | None
    amount_cents: int  # what was paid and not refunded

    @property
    def phone_masked(self) -> str:
        p = self.phone
        return f"{p[:3]}****{p[-4:]}" if len(p) >= 11 else p


@dataclass
class RecordQuery:
    unit_name: str
    year: int
    name: str = ""
    phone: str = ""
    records: list[OpenRecord] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(r.amount_cents for r in self.records)


async def open_records(
    session: AsyncSession, *, school_id: int, unit_name: str, year: int, name: str = "", phone: str = ""
) -> list[OpenRecord]:
    """Paid orders at this school for that training year, of trainees whose unit is `unit_name`,
    less what was refunded, without the orders an invoice (personal or unit) already holds."""
    stmt = (
        select(Order, User)
        .join(User, User.id == Order.trainee_id)
        .where(
            Order.status.in_(OrderStatus.SETTLED),  # a partly refunded order invoices what is left
            Order.school_id == school_id,
            Order.training_year == year,
            User.unit_name == unit_name,
        )
        .options(selectinload(Order.items), selectinload(Order.refunds))
        .order_by(Order.paid_at, Order.order_no)
    )
    if name.strip():
        stmt = stmt.where(User.name.contains(name.strip()))
    if phone.strip():
        stmt = stmt.where(User.phone == phone.strip())
    rows = (await session.execute(stmt)).all()
    taken = await invoiced_order_nos(session, [order.order_no for order, _ in rows])
    records = []
    for order, user in rows:
        # the same rule as the personal invoice: refunds of the accepted payment reduce the amount
        refunds = [(r.trade_no, r.amount_cents) for r in order.refunds]
        left = invoiceable_cents(order.amount_cents, order.trade_no, refunds)
        if left <= 0 or order.order_no in taken:
            continue
        records.append(
            OpenRecord(
                order_no=order.order_no,
                trainee_id=user.id,
                trainee_name=user.name,
                phone=user.phone,
                titles=[item.title for item in order.items],
                paid_at=order.paid_at,
                amount_cents=left,
            )
        )
    return records


async def require_approved_unit(session: AsyncSession, trainee: User, unit_name: str) -> UnitQualification:
    """Only the applicant of an approved qualification invoices for that unit (UnitNotApproved)."""
    qualification = await approved_qualification(session, trainee.id)
    if qualification is None or qualification.unit_name != unit_name:
        raise DomainError("UnitNotApproved")
    return qualification


async def apply_unit_invoice(
    *,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    trainee: User,
    school_id: int | None,
    unit_name: str,
    year: int,
    order_nos: list[str],
    email: str,
    now: datetime,
) -> UnitInvoiceView:
    if school_id is None:
        raise DomainError("SchoolRequired")
    qualification = await require_approved_unit(session, trainee, unit_name)
    available = {
        r.order_no: r for r in await open_records(session, school_id=school_id, unit_name=unit_name, year=year)
    }
    order_nos = list(dict.fromkeys(order_nos))
    email = validate_unit_invoice_request(
        order_nos,
        {k: v.amount_cents for k, v in available.items()},
        await invoiced_order_nos(session, order_nos),
        email,
    )
    lines = [
        UnitInvoiceLine(order_no=no, trainee_id=available[no].trainee_id, amount_cents=available[no].amount_cents)
        for no in order_nos
    ]
    for _ in range(3):  # a random serial collides (same second, same number) about never; then draw again
        application = UnitInvoiceInput(
            application_no=make_application_no(now, secrets.randbelow(10_000)),
            applicant_id=trainee.id,
            qualification_id=qualification.id,
            school_id=school_id,
            unit_name=qualification.unit_name,
            tax_id=qualification.credit_code,
            email=email,
            training_year=year,
            lines=lines,
            submitted_at=now.isoformat(),
            remind_after_seconds=settings.review_reminder_hours * 3600,
            due_after_seconds=settings.review_due_hours * 3600,
        )
        try:
            return await _start_unit_invoice(client, settings, application)
        except WorkflowAlreadyStartedError:
            continue
    raise DomainError("Busy")


async def _start_unit_invoice(
    client: Client, settings: Settings, application: UnitInvoiceInput
) -> UnitInvoiceView:
    start = start_operation(
        UnitInvoiceWorkflow.run,
        application,
        id=unit_invoice_workflow_id(application.application_no),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=process_attributes(
            "pending",
            trainee_id=application.applicant_id,
            school_id=application.school_id,
            business_key=application.application_no,
        ),
    )
    # returns once the application is on record; refuses if another application took an order meanwhile
    return await update_with_start(client, UnitInvoiceWorkflow.submitted, start=start)
