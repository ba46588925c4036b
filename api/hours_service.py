"""学时登记 / 学时申报: the registry's totals, drafts (学时填报), 提交学时 and 提交申报.

Drafts and the pending declaration are the trainee's own staging data (like the cart): written
here. From 提交申报 on the declaration belongs to its workflow (`hours-{declaration_no}`).
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import UploadFile
from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api.temporal import start_operation, update_with_start
from config import Settings
from db.base import utcnow
from db.models.catalog import School
from db.models.hours import HoursDeclaration, HoursRecord
from db.models.orders import Enrollment
from db.models.users import User
from domain.beijing_time import beijing_today
from domain.catalog import SubjectCategory, TrainingType
from domain.errors import DomainError
from domain.hours import (
    DeclarationInput,
    DeclarationState,
    DeclarationView,
    HoursSource,
    OfflineEntry,
    RecordState,
    make_declaration_no,
    progress,
    same_training,
    validate_declaration_year,
    validate_entry,
    validate_record_in_year,
)
from media.uploads import accept_evidence
from workflows.common import process_attributes
from workflows.hours_declaration import EMPTY, HoursDeclarationWorkflow, declaration_workflow_id

EVIDENCE_SUFFIX = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf"}
# 查询 filter values for the state: "rejected" is a draft that carries the school's reason
STATE_FILTERS = {
    "draft": "草稿",
    "rejected": "已驳回",
    "pending": "待提交申报",
    "reviewing": "审核中",
    "approved": "已通过",
    "recorded": "已记录",
}


def today_local() -> date:
    """The trainees' calendar day (Asia/Shanghai): the year boundary is theirs, not the server's."""
    return beijing_today(utcnow())


def evidence_dir(settings: Settings) -> Path:
    return settings.files_dir / "evidence"


# ---- 学时登记: the registry -----------------------------------------------------------------------


@dataclass
class Registry:
    year: int
    years: list[int]
    records: list[HoursRecord]
    total: Decimal
    required: Decimal
    percent: int
    missing: Decimal
    by_subject: list[tuple[str, Decimal]]
    by_type: list[tuple[str, Decimal]]
    by_source: list[tuple[str, Decimal]]
    under_review: Decimal = field(default=Decimal(0))


async def registry(session: AsyncSession, trainee_id: int, year: int | None, required_hours: float) -> Registry:
    """The year's counted hours (platform-pushed and approved self-declared) and the progress."""
    today = today_local()
    known = set(
        (
            await session.scalars(
                select(HoursRecord.year).where(
                    HoursRecord.trainee_id == trainee_id, HoursRecord.state.in_(RecordState.COUNTED)
                )
            )
        ).all()
    )
    years = sorted(known | {today.year, today.year - 1}, reverse=True)
    chosen = year if year in years else today.year
    records = list(
        (
            await session.scalars(
                select(HoursRecord)
                .where(
                    HoursRecord.trainee_id == trainee_id,
                    HoursRecord.year == chosen,
                    HoursRecord.state.in_(RecordState.COUNTED),
                )
                .order_by(HoursRecord.end_date.desc(), HoursRecord.id.desc())
            )
        ).all()
    )
    under_review = await session.scalar(
        select(func.coalesce(func.sum(HoursRecord.hours), 0)).where(
            HoursRecord.trainee_id == trainee_id,
            HoursRecord.year == chosen,
            HoursRecord.state == RecordState.REVIEWING,
        )
    )
    total = sum((r.hours for r in records), Decimal(0))
    required = Decimal(str(required_hours))
    percent, missing = progress(total, required)

    def sums(key: str, labels: list[tuple[str, str]]) -> list[tuple[str, Decimal]]:
        return [(label, sum((r.hours for r in records if getattr(r, key) == v), Decimal(0))) for v, label in labels]

    return Registry(
        year=chosen,
        years=years,
        records=records,
        total=total,
        required=required,
        percent=percent,
        missing=missing,
        by_subject=sums("subject_category", [(c.value, c.label) for c in SubjectCategory]),
        by_type=sums("training_type", [(t.value, t.label) for t in TrainingType]),
        by_source=sums("source", list(HoursSource.LABELS.items())),
        under_review=Decimal(str(under_review or 0)),
    )


# ---- 学时申报: the list and its 查询 ------------------------------------------------------------


def records_query(trainee_id: int, year: int | None, source: str, state: str) -> Select[Any]:
    query = select(HoursRecord).where(HoursRecord.trainee_id == trainee_id)
    if year:
        query = query.where(HoursRecord.year == year)
    if source in HoursSource.LABELS:
        query = query.where(HoursRecord.source == source)
    if state == "rejected":
        query = query.where(HoursRecord.state == RecordState.DRAFT, HoursRecord.reject_reason != "")
    elif state == "draft":
        query = query.where(HoursRecord.state == RecordState.DRAFT, HoursRecord.reject_reason == "")
    elif state in RecordState.LABELS:
        query = query.where(HoursRecord.state == state)
    return query


async def own_record(session: AsyncSession, trainee_id: int, record_id: int) -> HoursRecord:
    """Another trainee's record is indistinguishable from a missing one."""
    record = await session.get(HoursRecord, record_id)
    if record is None or record.trainee_id != trainee_id:
        raise DomainError("NotFound")
    return record


def refuse_unless_editable(record: HoursRecord) -> None:
    if record.source != HoursSource.SELF:
        raise DomainError("Forbidden")  # platform-pushed hours come from the course, not the trainee
    refusal = {
        RecordState.REVIEWING: "RecordLocked",
        RecordState.PENDING: "RecordPending",
        RecordState.APPROVED: "RecordApproved",
    }.get(record.state)
    if refusal:
        raise DomainError(refusal)


# ---- 学时填报: save a draft ---------------------------------------------------------------------


@dataclass
class EntryForm:
    training_name: str = ""
    organiser: str = ""
    start_date: str = ""
    end_date: str = ""
    subject_category: str = ""
    training_type: str = ""
    hours: str = ""


async def read_upload(upload: UploadFile | None, max_bytes: int) -> tuple[bytes, str] | None:
    """(bytes, file name) of a chosen file; None when no file was chosen. Reads at most one byte
    over the limit, so a huge upload is refused without being held in memory."""
    if upload is None or not upload.filename:
        return None
    data = await upload.read(max_bytes + 1)
    return data, Path(upload.filename).name[:200]


async def save_entry(
    *,
    session: AsyncSession,
    settings: Settings,
    trainee: User,
    form: EntryForm,
    upload: tuple[bytes, str] | None,
    remove_evidence: bool = False,
    record_id: int | None = None,
) -> HoursRecord:
    """Creates (or edits) a draft. Every check runs before anything is written; the evidence file
    is stored last and removed again if the row cannot be saved."""
    record = await own_record(session, trainee.id, record_id) if record_id is not None else None
    if record is not None:
        refuse_unless_editable(record)
    entry = validate_entry(
        training_name=form.training_name,
        organiser=form.organiser,
        start=form.start_date,
        end=form.end_date,
        subject_category=form.subject_category,
        training_type=form.training_type,
        hours=form.hours,
        today=today_local(),
        max_hours_per_day=Decimal(str(settings.max_hours_per_day)),
    )
    evidence = None
    if upload is not None:
        data, file_name = upload
        evidence = (*accept_evidence(data, settings.max_upload_bytes), file_name)
    await refuse_duplicate(session, trainee.id, entry, exclude_id=record_id)

    if record is None:
        record = HoursRecord(trainee_id=trainee.id, source=HoursSource.SELF, state=RecordState.DRAFT)
        session.add(record)
    old_file = record.evidence_file
    _apply_entry(record, entry)
    new_file = None
    if evidence is not None:
        content, content_type, file_name = evidence
        new_file = _store_evidence(settings, content, content_type)
        record.evidence_file, record.evidence_type, record.evidence_name = new_file, content_type, file_name
    elif remove_evidence:
        record.evidence_file, record.evidence_type, record.evidence_name = None, None, ""
    try:
        await session.commit()
    except Exception:
        if new_file:
            _remove_evidence(settings, new_file)
        raise
    if old_file and old_file != record.evidence_file:
        _remove_evidence(settings, old_file)
    return record


def _apply_entry(record: HoursRecord, entry: OfflineEntry) -> None:
    record.training_name = entry.training_name
    record.organiser = entry.organiser
    record.start_date = entry.start
    record.end_date = entry.end
    record.subject_category = entry.subject_category
    record.training_type = entry.training_type
    record.hours = entry.hours
    record.year = entry.start.year  # until 提交学时 sets the 填报年份
    record.updated_at = utcnow()


def _store_evidence(settings: Settings, data: bytes, content_type: str) -> str:
    folder = evidence_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{EVIDENCE_SUFFIX[content_type]}"
    (folder / name).write_bytes(data)
    return name


def _remove_evidence(settings: Settings, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (evidence_dir(settings) / name).unlink()


async def refuse_duplicate(
    session: AsyncSession,
    trainee_id: int,
    entry: OfflineEntry,
    *,
    exclude_id: int | None = None,
    include_in_progress: bool = False,
) -> None:
    """``HoursDuplicate`` if an approved self-declared record is the same training; with
    ``include_in_progress`` also ``HoursDuplicatePending`` for one pending or under review."""
    states = [RecordState.APPROVED]
    if include_in_progress:
        states += [RecordState.PENDING, RecordState.REVIEWING]
    others = (
        await session.scalars(
            select(HoursRecord).where(
                HoursRecord.trainee_id == trainee_id,
                HoursRecord.source == HoursSource.SELF,
                HoursRecord.state.in_(states),
                HoursRecord.id != (exclude_id or 0),
            )
        )
    ).all()
    for other in others:
        assert other.start_date is not None and other.end_date is not None
        if same_training(
            entry.training_name, entry.start, entry.end, other.training_name, other.start_date, other.end_date
        ):
            raise DomainError("HoursDuplicate" if other.state == RecordState.APPROVED else "HoursDuplicatePending")


def entry_of(record: HoursRecord) -> OfflineEntry:
    assert record.start_date is not None and record.end_date is not None
    return OfflineEntry(
        record.training_name,
        record.organiser,
        record.start_date,
        record.end_date,
        record.subject_category,
        record.training_type,
        record.hours,
    )


async def delete_draft(session: AsyncSession, settings: Settings, trainee: User, record_id: int) -> None:
    record = await own_record(session, trainee.id, record_id)
    refuse_unless_editable(record)
    evidence = record.evidence_file
    await session.delete(record)
    await session.commit()
    if evidence:
        _remove_evidence(settings, evidence)


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


async def default_school_id(session: AsyncSession, trainee_id: int, current: int | None) -> int | None:
    """The school the trainee is in, else the school of their latest course."""
    if current is not None:
        return current
    return await session.scalar(
        select(Enrollment.school_id).where(Enrollment.trainee_id == trainee_id).order_by(Enrollment.id.desc())
    )


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


def page_context(**extra: Any) -> dict[str, Any]:
    """Labels every hours page uses."""
    return {
        "subject_categories": list(SubjectCategory),
        "training_types": list(TrainingType),
        "sources": HoursSource.LABELS,
        "state_filters": STATE_FILTERS,
        **extra,
    }
