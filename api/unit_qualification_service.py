"""集体开票资格 (unit qualification): check a submission against the rules and the read models, then
start its workflow; the qualification's read model and its 委托书 file."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.temporal import start_operation, update_with_start
from config import Settings
from db.models.unit_qualification import UnitQualification
from db.models.users import User
from domain.errors import DomainError
from domain.unit_qualification import (
    QualificationInput,
    QualificationState,
    QualificationView,
    refuse_new_qualification,
    validate_qualification_form,
)
from media.uploads import accept_authorization_image, sniff_image
from workflows.common import process_attributes
from workflows.unit_qualification import UnitQualificationWorkflow, qualification_workflow_id

AUTHORIZATION_DIR = "authorizations"


async def latest_qualification(session: AsyncSession, applicant_id: int) -> UnitQualification | None:
    return await session.scalar(
        select(UnitQualification)
        .where(UnitQualification.applicant_id == applicant_id)
        .order_by(UnitQualification.created_at.desc(), UnitQualification.id.desc())
        .limit(1)
    )


async def approved_qualification(session: AsyncSession, applicant_id: int) -> UnitQualification | None:
    return await session.scalar(
        select(UnitQualification)
        .where(
            UnitQualification.applicant_id == applicant_id,
            UnitQualification.status == QualificationState.APPROVED,
        )
        .order_by(UnitQualification.id.desc())
        .limit(1)
    )


async def submit_qualification(
    *,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    trainee: User,
    unit_name: str,
    tax_id: str,
    upload: bytes | None,
    now: datetime,
) -> QualificationView:
    """Every check runs before anything is stored; a refusal leaves no file, no row, no workflow."""
    unit_name, credit_code = validate_qualification_form(unit_name, tax_id)
    if not upload:
        raise DomainError("AuthorizationRequired")
    image = accept_authorization_image(upload, settings.max_upload_bytes)
    unit_rows = (
        await session.execute(
            select(UnitQualification.status, UnitQualification.attempt)
            .where(UnitQualification.credit_code == credit_code)
            .order_by(UnitQualification.attempt.desc())
        )
    ).all()
    mine = await latest_qualification(session, trainee.id)
    refuse_new_qualification(unit_rows[0].status if unit_rows else None, mine.status if mine else None)
    attempt = (unit_rows[0].attempt if unit_rows else 0) + 1

    relative = _store_authorization(settings, credit_code, attempt, image)
    application = QualificationInput(
        credit_code=credit_code,
        attempt=attempt,
        unit_name=unit_name,
        applicant_id=trainee.id,
        applicant_name=trainee.name,
        authorization_path=relative,
        submitted_at=now.isoformat(),
        remind_after_seconds=settings.review_reminder_hours * 3600,
        due_after_seconds=settings.review_due_hours * 3600,
    )
    workflow_id = qualification_workflow_id(credit_code, attempt)
    start = start_operation(
        UnitQualificationWorkflow.run,
        application,
        id=workflow_id,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=process_attributes(
            QualificationState.UNDER_REVIEW, trainee_id=trainee.id, business_key=f"{credit_code}-{attempt}"
        ),
    )
    try:
        return await update_with_start(client, UnitQualificationWorkflow.submitted, start=start)
    except WorkflowAlreadyStartedError:
        # two submissions for the same unit raced: the other one is under review
        (settings.files_dir / relative).unlink(missing_ok=True)
        raise DomainError("QualificationPending") from None
    # any other failure keeps the file: the workflow may have started and will need it


def _store_authorization(settings: Settings, credit_code: str, attempt: int, image: bytes) -> str:
    """Writes the re-encoded image under files_dir/authorizations; returns its path relative to files_dir."""
    ext = "jpg" if sniff_image(image) == "jpeg" else "png"
    relative = f"{AUTHORIZATION_DIR}/{credit_code}-{attempt}-{secrets.token_hex(8)}.{ext}"
    target = settings.files_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.write_bytes(image)
    tmp.replace(target)  # never a half-written image under the final name
    return relative


def authorization_file(settings: Settings, qualification: UnitQualification) -> Path:
    path = (settings.files_dir / qualification.authorization_path).resolve()
    if not path.is_relative_to(settings.files_dir.resolve()) or not path.is_file():
        raise DomainError("NotFound")
    return path
