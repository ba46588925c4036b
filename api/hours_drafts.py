"""学时填报: the trainee's drafts and their evidence files (证明材料).

Drafts are the trainee's own staging data (like the cart), written here; 提交学时 moves them on
(api/hours_service.py). The evidence file is the only thing outside the database, so every write
below orders file and row so that neither is left without the other."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from api.hours_rules import own_record, refuse_duplicate, refuse_unless_editable, today_local
from api.uploads import Upload
from config import Settings
from db.base import utcnow
from db.models.hours import HoursRecord
from db.models.users import User
from domain.hours import HoursSource, OfflineEntry, RecordState, validate_entry
from media.uploads import accept_evidence

EVIDENCE_SUFFIX = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf"}


def evidence_dir(settings: Settings) -> Path:
    return settings.files_dir / "evidence"


@dataclass
class EntryForm:
    training_name: str = ""
    organiser: str = ""
    start_date: str = ""
    end_date: str = ""
    subject_category: str = ""
    training_type: str = ""
    hours: str = ""


async def save_entry(
    *,
    session: AsyncSession,
    settings: Settings,
    trainee: User,
    form: EntryForm,
    upload: Upload | None,
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
        # the declared content type is ignored: accept_evidence sniffs the bytes
        evidence = (*accept_evidence(upload.data, settings.max_upload_bytes), upload.filename)
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


async def delete_draft(session: AsyncSession, settings: Settings, trainee: User, record_id: int) -> None:
    record = await own_record(session, trainee.id, record_id)
    refuse_unless_editable(record)
    evidence = record.evidence_file
    await session.delete(record)
    await session.commit()
    if evidence:
        _remove_evidence(settings, evidence)


def _store_evidence(settings: Settings, data: bytes, content_type: str) -> str:
    folder = evidence_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{EVIDENCE_SUFFIX[content_type]}"
    (folder / name).write_bytes(data)
    return name


def _remove_evidence(settings: Settings, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (evidence_dir(settings) / name).unlink()
