"""提交学时 and 提交申报: the trainee's commands on their hours.

提交学时 moves ticked drafts (api/hours_drafts.py) into the pending declaration of a year, the
trainee's own staging data, written here. From 提交申报 on the declaration belongs to its workflow
(`hours-{declaration_no}`). The read side is api/hours_registry.py; the shared rules api/hours_rules.py.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api.hours_rules import entry_of, own_record, refuse_duplicate, refuse_unless_editable, today_local
from api.temporal import start_operation, update_with_start
from config import Settings
from db.base import utcnow
from db.models.catalog import School
from db.models.hours import HoursDeclaration, HoursRecord
from db.models.users import User
from domain.errors import DomainError
from domain.hours import (
    DeclarationInput,
    DeclarationState,
    DeclarationView,
    OfflineEntry,
    RecordState,
    make_declaration_no,
    same_training,
    validate_declaration_year,
    validate_record_in_year,
)
from workflows.common import process_attributes
from workflows.hours_declaration import EMPTY, HoursDeclarationWorkflow, declaration_workflow_id

# ---- 提交学时: ticked drafts into the pending declaration of a year -----------------------------


async def submit_hours(session: AsyncSession, trainee: User, record_ids: list[int], year: int | None) -> int:
    """Puts the ticked drafts into the trainee's pending declaration (待提交申报) for ``year``;
    returns how many. The year must be this year or last (validate_declaration_year)."""
    if not record_ids:
        raise DomainError("HoursSelectionEmpty")
    if year is None:
        raise DomainError("HoursYearOutOfRange")
    validate_declaration_year(year, today_local())
    records = [await own_record(session, trainee.id, rid) for rid in dict.fromkeys(record_ids)]
    entries = []
    for record in records:
        refuse_unless_editable(record)
        entry = entry_of(record)
        validate_record_in_year(entry.start, entry.end, year)
        await refuse_duplicate(session, trainee.id, entry, exclude_id=record.id, include_in_progress=True)
        entries.append(entry)
    _refuse_duplicates_among(entries)

    declaration = await _pending_declaration(session, trainee.id, year)
    if declaration is None:  # a parallel 提交学时 created it first: our session was rolled back
        declaration = await _pending_declaration(session, trainee.id, year)
        assert declaration is not None
        records = [await own_record(session, trainee.id, r.id) for r in records]
        for record in records:
            refuse_unless_editable(record)
    for record in records:
        record.state = RecordState.PENDING
        record.declaration_id = declaration.id
        record.year = year
        record.updated_at = utcnow()
    await session.commit()
    return len(records)


def _refuse_duplicates_among(entries: list[OfflineEntry]) -> None:
    for i, a in enumerate(entries):
        for b in entries[i + 1 :]:
            if same_training(a.training_name, a.start, a.end, b.training_name, b.start, b.end):
                raise DomainError("HoursDuplicateSelected")


async def _pending_declaration(session: AsyncSession, trainee_id: int, year: int) -> HoursDeclaration | None:
    """The trainee's pending declaration for the year, created on first use. None when a parallel
    request created it at the same moment (the partial unique index refused ours): the session is
    rolled back then, and the caller reloads."""
    found = await session.scalar(
        select(HoursDeclaration).where(
            HoursDeclaration.trainee_id == trainee_id,
            HoursDeclaration.year == year,
            HoursDeclaration.state == DeclarationState.PENDING,
        )
    )
    if found is not None:
        return found
    declaration = HoursDeclaration(
        declaration_no=make_declaration_no(datetime.now(UTC), secrets.randbelow(10_000)),
        trainee_id=trainee_id,
        year=year,
        state=DeclarationState.PENDING,
    )
    session.add(declaration)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        return None
    return declaration


async def withdraw_record(session: AsyncSession, trainee: User, record_id: int) -> None:
    """移出申报: a pending record goes back to draft; an emptied pending declaration is dropped."""
    record = await own_record(session, trainee.id, record_id)
    if record.state != RecordState.PENDING:
        refuse_unless_editable(record)
        return  # already a draft
    declaration_id = record.declaration_id
    record.state = RecordState.DRAFT
    record.declaration_id = None
    record.updated_at = utcnow()
    await session.flush()
    left = await session.scalar(
        select(func.count()).select_from(HoursRecord).where(HoursRecord.declaration_id == declaration_id)
    )
    if not left:
        await session.execute(
            delete(HoursDeclaration).where(
                HoursDeclaration.id == declaration_id, HoursDeclaration.state == DeclarationState.PENDING
            )
        )
    await session.commit()


# ---- 提交申报: the pending declaration goes to the school --------------------------------------


async def submit_declaration(
    *,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    trainee: User,
    declaration_no: str,
    school_id: int | None,
) -> DeclarationView:
    """Starts the review (workflow hours-{declaration_no}); returns once it is 审核中."""
    declaration = await session.scalar(
        select(HoursDeclaration).where(
            HoursDeclaration.declaration_no == declaration_no, HoursDeclaration.trainee_id == trainee.id
        )
    )
    if declaration is None:
        raise DomainError("NotFound")
    if declaration.state != DeclarationState.PENDING:
        raise DomainError("DeclarationNotPending")
    validate_declaration_year(declaration.year, today_local())  # the year may have turned since
    school = await session.get(School, school_id) if school_id else None
    if school is None:
        raise DomainError("ReviewSchoolRequired")
    records = (
        await session.scalars(
            select(HoursRecord)
            .where(HoursRecord.declaration_id == declaration.id, HoursRecord.state == RecordState.PENDING)
            .order_by(HoursRecord.id)
        )
    ).all()
    if not records:
        raise DomainError("DeclarationEmpty")
    for record in records:  # approved elsewhere since 提交学时?
        await refuse_duplicate(session, trainee.id, entry_of(record), exclude_id=record.id)

    start = start_operation(
        HoursDeclarationWorkflow.run,
        DeclarationInput(
            declaration_no=declaration_no,
            trainee_id=trainee.id,
            trainee_name=trainee.name,
            school_id=school.id,
            year=declaration.year,
            record_ids=[r.id for r in records],
            remind_after_seconds=settings.review_reminder_hours * 3600,
            due_after_seconds=settings.review_due_hours * 3600,
        ),
        id=declaration_workflow_id(declaration_no),
        task_queue=settings.task_queue,
        # a double click joins the running review instead of starting a second one
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=process_attributes(
            DeclarationState.REVIEWING, trainee_id=trainee.id, school_id=school.id, business_key=declaration_no
        ),
    )
    view = await update_with_start(client, HoursDeclarationWorkflow.submitted, start=start)
    if view.state == EMPTY:
        raise DomainError("DeclarationEmpty")
    return view
