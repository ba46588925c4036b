"""The reviewer inbox's view of a 学时申报 (docs/INBOX.md): the submission loader of kind
`hours_declaration`, shown by web/templates/inbox/kinds/hours_declaration.html.

Kept in this module (imported by the hours router, hence whenever the app runs) so the shared
api/inbox_kinds.py stays small."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from api.inbox_kinds import default_loader, loader
from db.models.hours import HoursDeclaration, HoursDeclarationItem, HoursRecord
from db.models.tasks import ReviewTask
from db.models.users import User
from domain.hours import DeclarationState, HoursSource, RecordState, same_training
from domain.review import TaskKind


def _evidence(record: HoursRecord) -> dict[str, Any]:
    """The record's 证明材料 under 附件; the route checks that the reviewer's school received it."""
    return {
        "name": f"{record.training_name}：{record.evidence_name or '证明材料'}",
        "url": f"/staff/hours/records/{record.id}/evidence",
        "is_image": (record.evidence_type or "").startswith("image/"),
    }


async def _approved_self_records(session: AsyncSession, trainee_id: int) -> list[HoursRecord]:
    """What a declared record may duplicate: the same rule as `hours_rules.refuse_duplicate`."""
    return list(
        (
            await session.scalars(
                select(HoursRecord).where(
                    HoursRecord.trainee_id == trainee_id,
                    HoursRecord.source == HoursSource.SELF,
                    HoursRecord.state == RecordState.APPROVED,
                )
            )
        ).all()
    )


def _is_duplicate(record: HoursRecord, approved: list[HoursRecord]) -> bool:
    if record.start_date is None or record.end_date is None:
        return False
    return any(
        other.id != record.id
        and other.start_date is not None
        and other.end_date is not None
        and same_training(
            record.training_name, record.start_date, record.end_date,
            other.training_name, other.start_date, other.end_date,
        )
        for other in approved
    )


async def _counted_hours(session: AsyncSession, trainee_id: int, year: int) -> Decimal:
    """The year's hours in the registry (平台推送 and approved 自主申报), as 学时登记 totals them."""
    total = await session.scalar(
        select(func.coalesce(func.sum(HoursRecord.hours), 0)).where(
            HoursRecord.trainee_id == trainee_id,
            HoursRecord.year == year,
            HoursRecord.state.in_(RecordState.COUNTED),
        )
    )
    return Decimal(str(total or 0))


def _outcome(state: str) -> dict[str, str]:
    """The task header shows the declaration's real outcome: a decision that approved some records
    and rejected others is 部分通过, not 已通过."""
    if state == DeclarationState.PARTIAL:
        return {"outcome": DeclarationState.LABELS[state], "outcome_tag": "tag-amber"}
    return {}


@loader(TaskKind.HOURS_DECLARATION)
async def hours_declaration(session: AsyncSession, task: ReviewTask) -> dict[str, Any]:
    """The declaration, one row per record as it was sent (with the school's decision once made),
    the trainee's hours already counted that year, and every record's evidence as an attachment.

    Rows come from the declaration's items, not the records: a rejected record the trainee deleted
    later keeps its row (record None), so a decided task stays readable."""
    declaration_no = str((task.payload or {}).get("declaration_no", ""))
    declaration = await session.scalar(
        select(HoursDeclaration)
        .where(HoursDeclaration.declaration_no == declaration_no)
        .options(selectinload(HoursDeclaration.items).selectinload(HoursDeclarationItem.record))
    )
    if declaration is None:
        return await default_loader(session, task)
    trainee = await session.get(User, declaration.trainee_id)
    approved = await _approved_self_records(session, declaration.trainee_id)
    rows = [
        {
            "record": item.record,
            "item": item,
            "duplicate": item.record is not None and _is_duplicate(item.record, approved),
        }
        for item in declaration.items
    ]
    return {
        **_outcome(declaration.state),
        "declaration": declaration,
        "trainee": trainee,
        "rows": rows,
        "total_hours": sum((item.hours for item in declaration.items), Decimal(0)),
        "counted_hours": await _counted_hours(session, declaration.trainee_id, declaration.year),
        "attachments": [_evidence(i.record) for i in declaration.items if i.record and i.record.evidence_file],
    }
