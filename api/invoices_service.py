"""个人发票: what 我的发票 shows for each paid order, and starting a 发票申请 (update-with-start)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api.temporal import start_operation, update_with_start
from config import Settings
from db.models.catalog import School
from db.models.invoice_guard import InvoicedOrder, InvoiceKind
from db.models.invoices import Invoice, PersonalInvoiceApplication, PersonalInvoiceItem
from db.models.orders import Order, OrderStatus
from db.models.users import User
from domain.personal_invoice import (
    InvoiceLine,
    InvoiceState,
    PersonalInvoiceInput,
    PersonalInvoiceView,
    invoiceable_cents,
    make_application_no,
    validate_application,
)
from workflows.common import process_attributes
from workflows.personal_invoice import PersonalInvoiceWorkflow, personal_invoice_workflow_id

UNIT_HELD = "unit"  # held by a unit invoice application (集体开票)
NOT_INVOICEABLE = "refunded"
ROW_LABELS = {**InvoiceState.LABELS, UNIT_HELD: "已申请单位开票", NOT_INVOICEABLE: "已退款"}
ROW_TAGS = {
    InvoiceState.AVAILABLE: "tag-blue",
    InvoiceState.PENDING: "tag-amber",
    InvoiceState.ISSUED: "tag-green",
    InvoiceState.REJECTED: "tag-red",
    UNIT_HELD: "",
    NOT_INVOICEABLE: "",
}


@dataclass
class OrderInvoiceRow:
    """One paid order on 我的发票, with its invoice state."""

    order: Order
    school_name: str
    invoiceable_cents: int
    state: str
    application: PersonalInvoiceApplication | None = None
    reversals: list[Invoice] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ROW_LABELS.get(self.state, self.state)

    @property
    def tag(self) -> str:
        return ROW_TAGS.get(self.state, "")

    @property
    def selectable(self) -> bool:
        return self.state in (InvoiceState.AVAILABLE, InvoiceState.REJECTED)


def paid_orders_query(trainee_id: int) -> Select[Order]:
    return select(Order).where(Order.trainee_id == trainee_id, Order.status.in_(OrderStatus.SETTLED))


async def count_paid_orders(session: AsyncSession, trainee_id: int) -> int:
    return await session.scalar(select(func.count()).select_from(paid_orders_query(trainee_id).subquery())) or 0


async def order_rows(
    session: AsyncSession,
    trainee_id: int,
    *,
    offset: int = 0,
    limit: int | None = None,
    order_nos: list[str] | None = None,
) -> list[OrderInvoiceRow]:
    query = paid_orders_query(trainee_id).options(selectinload(Order.items), selectinload(Order.refunds))
    if order_nos is not None:
        query = query.where(Order.order_no.in_(order_nos))
    query = query.order_by(Order.paid_at.desc(), Order.order_no.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    orders = (await session.scalars(query)).all()
    nos = [o.order_no for o in orders]
    if not nos:
        return []
    guards = {
        g.order_no: g for g in await session.scalars(select(InvoicedOrder).where(InvoicedOrder.order_no.in_(nos)))
    }
    latest = await _latest_applications(session, trainee_id, nos)
    reversals: dict[str, list[Invoice]] = {}
    for red in await session.scalars(
        select(Invoice).where(Invoice.kind == "red", Invoice.order_no.in_(nos)).order_by(Invoice.id)
    ):
        reversals.setdefault(red.order_no or "", []).append(red)
    schools = {s.id: s.name for s in await session.scalars(select(School))}
    rows = []
    for order in orders:
        cents = invoiceable_cents(
            order.amount_cents, order.trade_no, [(r.trade_no, r.amount_cents) for r in order.refunds]
        )
        state, app = _state(guards.get(order.order_no), latest.get(order.order_no), cents)
        rows.append(
            OrderInvoiceRow(
                order=order,
                school_name=schools.get(order.school_id, ""),
                invoiceable_cents=cents,
                state=state,
                application=app,
                reversals=reversals.get(order.order_no, []),
            )
        )
    return rows


def _state(
    guard: InvoicedOrder | None, app: PersonalInvoiceApplication | None, cents: int
) -> tuple[str, PersonalInvoiceApplication | None]:
    if guard is not None and guard.kind == InvoiceKind.UNIT:
        return UNIT_HELD, None
    if guard is not None and app is not None and app.application_no == guard.application_no:
        return app.status, app  # pending / issued
    if guard is not None:
        return InvoiceState.PENDING, None  # held by an application this page cannot match: not free
    if app is not None and app.status == InvoiceState.REJECTED:
        return InvoiceState.REJECTED, app  # shows the reason; may apply again
    if cents <= 0:
        return NOT_INVOICEABLE, None
    return InvoiceState.AVAILABLE, None


async def _latest_applications(
    session: AsyncSession, trainee_id: int, order_nos: list[str]
) -> dict[str, PersonalInvoiceApplication]:
    """Per order, the trainee's latest personal application that covers it."""
    rows = await session.execute(
        select(PersonalInvoiceItem.order_no, PersonalInvoiceApplication)
        .join(
            PersonalInvoiceApplication,
            PersonalInvoiceApplication.application_no == PersonalInvoiceItem.application_no,
        )
        .where(PersonalInvoiceApplication.trainee_id == trainee_id, PersonalInvoiceItem.order_no.in_(order_nos))
        .order_by(PersonalInvoiceApplication.created_at, PersonalInvoiceApplication.application_no)
    )
    latest: dict[str, PersonalInvoiceApplication] = {}
    for order_no, app in rows:
        latest[order_no] = app  # ordered oldest first: the last one wins
    return latest


async def apply_personal_invoice(
    *,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    trainee: User,
    order_nos: list[str],
    title_type: str,
    title: str,
    tax_id: str,
    email: str,
    now: datetime,
) -> PersonalInvoiceView:
    """Every check runs before the workflow starts; the workflow's first activity claims the orders in
    the shared guard, so a concurrent second application is refused there (InvoiceAlreadyRequested)."""
    rows = await order_rows(session, trainee.id, order_nos=order_nos)
    by_no = {r.order.order_no: r for r in rows}
    invoiceable = {no: (r.order.school_id, r.invoiceable_cents) for no, r in by_no.items() if r.selectable}
    held = {no for no, r in by_no.items() if r.state in (InvoiceState.PENDING, InvoiceState.ISSUED, UNIT_HELD)}
    buyer = validate_application(
        order_nos=order_nos,
        invoiceable=invoiceable,
        held=held,
        title_type=title_type,
        title=title,
        tax_id=tax_id,
        email=email,
    )
    school_id = invoiceable[order_nos[0]][0]
    app = PersonalInvoiceInput(
        application_no=make_application_no(now, secrets.randbelow(10_000)),
        trainee_id=trainee.id,
        trainee_name=trainee.name,
        school_id=school_id,
        title_type=buyer.title_type,
        title=buyer.title,
        tax_id=buyer.tax_id,
        email=buyer.email,
        lines=[InvoiceLine(order_no=no, amount_cents=invoiceable[no][1]) for no in order_nos],
        submitted_at=now.isoformat(),
        remind_after_seconds=settings.review_reminder_hours * 3600,
        due_after_seconds=settings.review_due_hours * 3600,
    )
    start = start_operation(
        PersonalInvoiceWorkflow.run,
        app,
        id=personal_invoice_workflow_id(app.application_no),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=process_attributes(
            InvoiceState.PENDING, trainee_id=trainee.id, school_id=school_id, business_key=app.application_no
        ),
    )
    return await update_with_start(client, PersonalInvoiceWorkflow.submitted, start=start)
