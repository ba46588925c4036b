"""The reviewer inbox's view of 单位开票 (docs/INBOX.md): the submission loader of its review kind,
registered with `api.inbox_kinds.loader`; the template is web/templates/inbox/kinds/unit_invoice.html.

Kept in this module (imported by the unit invoice router, hence whenever the app runs) so the shared
api/inbox_kinds.py stays small."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from api.inbox_kinds import default_loader, loader
from api.unit_qualification_inbox import authorization_attachment
from db.models.orders import Order
from db.models.tasks import ReviewTask
from db.models.unit_invoice import UnitInvoiceApplication, UnitInvoiceItem
from domain.review import TaskKind


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
        "attachments": [authorization_attachment(application.qualification_id)],
    }
