"""课程学习 / 换课 / 退课 from the web side: load what the study workflow needs, talk to it, read back.

The web layer decides nothing here: it builds the workflow input from the catalog, sends Updates
(update-with-start for the first 开始学习 / 换课 / 退课) and reads progress from the workflow's query,
or from the projection when the workflow is not running.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowQueryFailedError
from temporalio.common import (
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api import temporal
from api.deps import release
from api.study_ledger import with_live_credit
from config import Settings
from db.models.catalog import Course
from db.models.orders import Enrollment, EnrollmentStatus
from db.models.study import ActiveStudy, ChapterProgress
from db.models.users import User
from domain.catalog import format_hours
from domain.errors import DomainError
from domain.study import (
    ChapterSpec,
    ChapterView,
    CourseRef,
    StudyInput,
    StudyProgress,
    StudyRules,
    StudyState,
    StudyStatus,
    chapter_done,
)
from workflows.common import process_attributes
from workflows.study import LEDGER_MEMO, StudyWorkflow, study_workflow_id

# a page waits this long for the study workflow's answer (an activity may be retrying meanwhile)
UPDATE_TIMEOUT_SECONDS = 30


def rules_from(settings: Settings) -> StudyRules:
    return StudyRules(
        heartbeat_seconds=settings.heartbeat_seconds,
        heartbeat_tolerance_seconds=settings.heartbeat_tolerance_seconds,
        captcha_min_seconds=settings.captcha_min_seconds,
        captcha_max_seconds=settings.captcha_max_seconds,
        captcha_timeout_seconds=settings.captcha_timeout_seconds,
        captcha_max_wrong=settings.captcha_max_wrong,
        idle_end_seconds=settings.idle_end_seconds,
        backstop_seconds=settings.study_backstop_seconds,
        continue_after_events=settings.study_continue_after_events,
    )


def course_ref(course: Course) -> CourseRef:
    return CourseRef(
        course_id=course.id,
        school_id=course.school_id,
        major_id=course.major_id,
        hours=format_hours(course.hours),
        chapters=[ChapterSpec(c.id, c.seq, c.title, c.duration_seconds) for c in course.chapters],
    )


async def own_enrollment(session: AsyncSession, user: User, enrollment_id: int) -> Enrollment:
    """The trainee's enrollment with its course and chapters; another's (or a withdrawn one) is 404."""
    enrollment = await session.scalar(
        select(Enrollment)
        .where(Enrollment.id == enrollment_id, Enrollment.trainee_id == user.id)
        .options(
            selectinload(Enrollment.course).selectinload(Course.chapters),
            selectinload(Enrollment.course).selectinload(Course.major),
            selectinload(Enrollment.course).selectinload(Course.school),
        )
    )
    if enrollment is None or enrollment.status == EnrollmentStatus.WITHDRAWN:
        raise DomainError("NotFound")
    return enrollment


async def course_with_chapters(session: AsyncSession, course_id: int) -> Course | None:
    return await session.scalar(select(Course).where(Course.id == course_id).options(selectinload(Course.chapters)))


async def check_one_course(session: AsyncSession, trainee_id: int, enrollment_id: int) -> None:
    """开始学习 on another course while one is started and not finished is refused (the hard check
    is the workflow's claim of the slot when a session opens; this one answers the page early)."""
    holder = await session.scalar(select(ActiveStudy.enrollment_id).where(ActiveStudy.trainee_id == trainee_id))
    if holder is not None and holder != enrollment_id:
        raise DomainError("OneCourseAtATime")


async def projected_state(session: AsyncSession, enrollment: Enrollment) -> StudyState | None:
    """What the projection knows of an enrollment's study, for a workflow started after an earlier
    run was terminated (the upgrade to the ledger, docs/STUDY.md): its credit and its slot."""
    if enrollment.status == EnrollmentStatus.NOT_STARTED:
        return None
    rows = {
        row.chapter_id: row.credited_seconds
        for row in (
            await session.scalars(select(ChapterProgress).where(ChapterProgress.enrollment_id == enrollment.id))
        ).all()
    }
    holder = await session.scalar(
        select(ActiveStudy.enrollment_id).where(ActiveStudy.trainee_id == enrollment.trainee_id)
    )
    ref = course_ref(enrollment.course)
    return StudyState(
        status=StudyStatus.STUDYING,
        course=ref,
        credited=[float(rows.get(c.chapter_id, 0)) for c in ref.chapters],
        claimed=holder == enrollment.id,
    )


def start_operation(
    settings: Settings, enrollment: Enrollment, trainee_name: str = "", state: StudyState | None = None
) -> WithStartWorkflowOperation[Any, Any]:
    """A fresh start operation for each call (they are single-use)."""
    return temporal.start_operation(
        StudyWorkflow.run,
        StudyInput(
            enrollment_id=enrollment.id,
            trainee_id=enrollment.trainee_id,
            school_id=enrollment.school_id,
            training_year=enrollment.training_year,
            course=course_ref(enrollment.course),
            rules=rules_from(settings),
            trainee_name=trainee_name,
            course_title=enrollment.course.title,
            state=state,
        ),
        id=study_workflow_id(enrollment.id),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # a finished study (completed or withdrawn) never starts again; a terminated one (the upgrade
        # to the ledger) starts again from the projection
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        memo=LEDGER_MEMO,
        search_attributes=process_attributes(
            StudyStatus.NOT_STARTED,
            business_key=study_workflow_id(enrollment.id),
            trainee_id=enrollment.trainee_id,
            school_id=enrollment.school_id,
        ),
    )


async def send_to_study(
    client: Client,
    settings: Settings,
    session: AsyncSession,
    enrollment: Enrollment,
    update: Any,
    arg: Any,
    trainee_name: str = "",
) -> Any:
    """Sends ``update`` to the enrollment's study workflow, starting it on the first call."""
    operation = start_operation(settings, enrollment, trainee_name, await projected_state(session, enrollment))
    await release(session)
    try:
        return await asyncio.wait_for(
            temporal.update_with_start(client, update, arg, start=operation),
            UPDATE_TIMEOUT_SECONDS,
        )
    except TimeoutError:
        # the workflow keeps retrying its step; the page must not hang meanwhile
        raise DomainError("Busy") from None
    except WorkflowAlreadyStartedError:
        # the workflow has closed: the enrollment is completed or withdrawn (read it fresh)
        status = await session.scalar(select(Enrollment.status).where(Enrollment.id == enrollment.id))
        if status == EnrollmentStatus.WITHDRAWN:
            raise DomainError("CourseWithdrawn") from None
        raise DomainError("CourseCompleted") from None


async def progress(client: Client, session: AsyncSession, enrollment: Enrollment) -> StudyProgress:
    """Live progress from the running workflow; the projection when it is not running."""
    if enrollment.status not in (EnrollmentStatus.COMPLETED, EnrollmentStatus.WITHDRAWN):
        try:
            handle = client.get_workflow_handle(study_workflow_id(enrollment.id))
            live: StudyProgress = await handle.query(StudyWorkflow.progress)
            return await with_live_credit(session, enrollment.id, live)
        except (RPCError, WorkflowQueryFailedError):
            pass  # never started (or just closed): the projection is all there is
    return await projected_progress(session, enrollment)


async def projected_progress(session: AsyncSession, enrollment: Enrollment) -> StudyProgress:
    rows = {
        row.chapter_id: row
        for row in (
            await session.scalars(select(ChapterProgress).where(ChapterProgress.enrollment_id == enrollment.id))
        ).all()
    }
    done_all = enrollment.status == EnrollmentStatus.COMPLETED
    views: list[ChapterView] = []
    opened = False
    for chapter in enrollment.course.chapters:
        row = rows.get(chapter.id)
        credited = float(chapter.duration_seconds if done_all else (row.credited_seconds if row else 0))
        done = done_all or bool(row and row.completed) or chapter_done(credited, chapter.duration_seconds)
        is_open = not done and not opened
        opened = opened or is_open
        views.append(
            ChapterView(chapter.id, chapter.seq, chapter.title, chapter.duration_seconds, credited, done, is_open)
        )
    return StudyProgress(
        status=enrollment.status,
        course_id=enrollment.course_id,
        chapters=views,
        credited_total=float(sum(v.credited for v in views)),
        total_seconds=sum(c.duration_seconds for c in enrollment.course.chapters),
    )
