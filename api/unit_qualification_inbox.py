"""The reviewer inbox's view of 集体开票 (docs/INBOX.md): one submission loader per review kind,
registered with `api.inbox_kinds.loader`; the templates are web/templates/inbox/kinds/<kind>.html.

Kept in this module (imported by the group-invoicing router, hence whenever the app runs) so the
shared api/inbox_kinds.py stays small."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from api.inbox_kinds import default_loader, loader
from db.models.group_invoicing import UnitInvoiceApplication, UnitInvoiceItem, UnitQualification
from db.models.orders import Order
from db.models.tasks import ReviewTask
from db.models.users import User
from domain.review import TaskKind


def _authorization(qualification_id: int) -> dict[str, Any]:
    return {"name": "委托书", "url": f"/group-invoicing/authorizations/{qualification_id}", "is_image": True}


@loader(TaskKind.UNIT_QUALIFICATION)
async def unit_qualification(session: AsyncSession, task: ReviewTask) -> dict[str, Any]:
    """The unit, its applicant, the letter of authorization and the unit's earlier applications."""
    qid = str((task.payload or {}).get("qualification_id", ""))
    q = await session.get(UnitQualification, int(qid)) if qid.isdigit() else None
    if q is None:
        return await default_loader(session, task)
    applicant = await session.get(User, q.applicant_id)
    earlier = (
        await session.scalars(
            select(UnitQualification)
            .where(UnitQualification.credit_code == q.credit_code, UnitQualification.id != q.id)
            .order_by(UnitQualification.attempt)
        )
    ).all()
    return {"qualification": q, "applicant": applicant, "earlier": earlier, "attachments": [_authorization(q.id)]}


@loader(TaskKind.UNIT_INVOICE)
async def unit_invoice(session: AsyncSession, task: ReviewTask) -> dict[str, Any]:
    """The invoice details (抬头, 税号, 邮箱, 金额) and every record it covers, with the unit's letter."""
    application_no = str((task.payload or {}).get("application_no", ""))
    application = await session.get(
        UnitInvoiceApplication,
        application_no,
        options=[selectinload(UnitInvoiceApplication.items).selectinload(UnitInvoiceItem.trainee)],
    )
    if application is None:
        return await default_loader(session, task)
    orders = {
        o.order_no: o
        for o in await session.scalars(
            select(Order)
            .where(Order.order_no.in_([i.order_no for i in application.items]))
            .options(selectinload(Order.items))
        )
    }
    records = [{"item": item, "order": orders.get(item.order_no)} for item in application.items]
    return {
        "application": application,
        "records": records,
        "attachments": [_authorization(application.qualification_id)],
    }
