"""Per-kind submission loaders of the reviewer inbox (docs/INBOX.md).

A review kind adds one async loader here (or registers it from its own module with `@loader(kind)`)
and one template `web/templates/inbox/kinds/<kind>.html`. The loader returns what that template
shows; two keys are understood by the generic page as well:

- `fields`: list of (label, value) rows, shown by the default template when a kind has none;
- `attachments`: list of {"name": str, "url": str, "is_image": bool}, listed under 附件.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.models.invoices import PersonalInvoiceApplication, PersonalInvoiceItem
from db.models.orders import Order
from db.models.tasks import ReviewTask

Loader = Callable[[AsyncSession, ReviewTask], Awaitable[dict[str, Any]]]
LOADERS: dict[str, Loader] = {}


def loader(kind: str) -> Callable[[Loader], Loader]:
    def register(fn: Loader) -> Loader:
        LOADERS[kind] = fn
        return fn

    return register


async def default_loader(session: AsyncSession, task: ReviewTask) -> dict[str, Any]:
    """What the task itself carries: its payload, as label/value rows."""
    return {"fields": [(str(k), str(v)) for k, v in (task.payload or {}).items()], "attachments": []}


async def load_submission(session: AsyncSession, task: ReviewTask) -> dict[str, Any]:
    found = LOADERS.get(task.kind, default_loader)
    data = await found(session, task)
    data.setdefault("fields", [])
    data.setdefault("attachments", [])
    return data


def kind_templates(kind: str) -> list[str]:
    """Jinja `include` takes the first template that exists."""
    return [f"inbox/kinds/{kind}.html", "inbox/kinds/_default.html"]


# ---- personal invoice (个人发票) ---------------------------------------------------------------


@loader("personal_invoice")
async def personal_invoice(session: AsyncSession, task: ReviewTask) -> dict[str, Any]:
    application_no = (task.payload or {}).get("application_no", "")
    application = await session.get(PersonalInvoiceApplication, application_no)
    if application is None:
        return await default_loader(session, task)
    rows = (
        await session.execute(
            select(PersonalInvoiceItem, Order)
            .join(Order, Order.order_no == PersonalInvoiceItem.order_no)
            .where(PersonalInvoiceItem.application_no == application_no)
            .options(selectinload(Order.items))
            .order_by(PersonalInvoiceItem.id)
        )
    ).all()
    return {"application": application, "orders": [{"order": o, "amount_cents": i.amount_cents} for i, o in rows]}
