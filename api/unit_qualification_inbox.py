"""The reviewer inbox's view of 集体开票资格 (docs/INBOX.md): the submission loader of its review kind,
registered with `api.inbox_kinds.loader`; the template is web/templates/inbox/kinds/unit_qualification.html.

Kept in this module (imported by the unit qualification router, hence whenever the app runs) so the
shared api/inbox_kinds.py stays small."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.inbox_kinds import default_loader, loader
from db.models.tasks import ReviewTask
from db.models.unit_qualification import UnitQualification
from db.models.users import User
from domain.review import TaskKind


def authorization_attachment(qualification_id: int) -> dict[str, Any]:
    """The qualification's 委托书, shown with the qualification and with every unit invoice it allows."""
    return {"name": "委托书", "url": f"/group-invoicing/authorizations/{qualification_id}", "is_image": True}


@loader(TaskKind.UNIT_QUALIFICATION)
async def unit_qualification(session: AsyncSession, task: ReviewTask) -> dict[str, Any]:
    """The unit, its applicant, the letter of authorization and the unit's earlier applications."""
    qualification_id = str((task.payload or {}).get("qualification_id", ""))
    qualification = (
        await session.get(UnitQualification, int(qualification_id)) if qualification_id.isdigit() else None
    )
    if qualification is None:
        return await default_loader(session, task)
    applicant = await session.get(User, qualification.applicant_id)
    earlier = (
        await session.scalars(
            select(UnitQualification)
            .where(
                UnitQualification.credit_code == qualification.credit_code,
                UnitQualification.id != qualification.id,
            )
            .order_by(UnitQualification.attempt)
        )
    ).all()
    return {
        "qualification": qualification,
        "applicant": applicant,
        "earlier": earlier,
        "attachments": [authorization_attachment(qualification.id)],
    }
