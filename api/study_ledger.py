"""The player's hot path: heartbeats and captcha answers advance the enrollment's ledger row; a
session's end is reported to the study workflow once, and re-sent by the sweeper until it is heard.

Nothing here decides a rule: ``domain/study_ledger.py`` does, with the plan the workflow wrote.
A heartbeat costs one read and one version-checked UPDATE of one row, and no call to Temporal, so
it is answered while the worker or the Temporal server is away; only what the workflow must hear
(a chapter completed, a session ended) goes to it, and what it could not hear yet stays marked
``report_due`` in the row until the sweeper delivers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from db import study_ledger
from db.models.study import StudyLedger
from domain.errors import DomainError
from domain.study import ReportAnswer, StudyProgress, chapter_done, reopen
from domain.study_ledger import LiveSession, SessionReport, Step, expire, report_of
from workflows.study import StudyWorkflow, study_workflow_id

log = logging.getLogger(__name__)

# how long the page that completes a course waits for the workflow to record it (so that 我的课程
# shows it) before it answers from the ledger alone (the sweeper delivers the report later)
REPORT_WAIT_SECONDS = 5.0
SIGNAL_WAIT_SECONDS = 5.0
# a report younger than this is still being delivered by the page's own request: no second copy
PAGE_DELIVERY_SECONDS = max(REPORT_WAIT_SECONDS, SIGNAL_WAIT_SECONDS) + 1.0
WRITE_ATTEMPTS = 5  # two writers of one row at once: the loser reads again


@dataclass
class Advanced:
    """A rule applied to the session: the step, and the report of a session it just ended."""

    step: Step
    report: SessionReport | None


Rule = Callable[[LiveSession, float], Step]


async def advance(
    engine: AsyncEngine,
    enrollment_id: int,
    rule: Rule,
    *,
    trainee_id: int | None = None,
    session_id: str | None = None,
) -> Advanced:
    """Applies ``rule`` to the enrollment's session at the current time and stores the result.

    With ``trainee_id`` and ``session_id`` (a page's call) the row must be that trainee's and that
    session's: another's is NotFound, an older session of the same enrollment SessionReplaced."""
    for _ in range(WRITE_ATTEMPTS):
        async with engine.connect() as conn:  # a plain connection: the hot path skips the ORM session
            row = await study_ledger.read(conn, enrollment_id)
            if row is None:
                raise DomainError("SessionEnded")
            if trainee_id is not None and row.trainee_id != trainee_id:
                raise DomainError("NotFound")  # another's session is indistinguishable from none
            if session_id is not None and row.live.plan.session_id != session_id:
                raise DomainError("SessionReplaced")  # a newer session (another tab or device) holds it
            step = rule(row.live, time.time())
            just_ended = row.live.ended is None and step.live.ended is not None
            if step.live != row.live:
                if not await study_ledger.write(
                    conn, enrollment_id, row.version, step.live, report_due=row.report_due or just_ended
                ):
                    await conn.rollback()
                    continue
                await conn.commit()
            return Advanced(step, report_of(step.live) if just_ended else None)
    raise DomainError("Busy")


async def deliver(
    client: Client, maker: async_sessionmaker[AsyncSession], enrollment_id: int, report: SessionReport, *, wait: bool
) -> ReportAnswer | None:
    """Tells the workflow how the session ended; None when it could not be told now (it stays due).

    ``wait``: as an Update, for the page that shows the answer (a completed chapter); else as a
    Signal, which the server keeps until the workflow takes it."""
    handle = client.get_workflow_handle(study_workflow_id(enrollment_id))
    answer: ReportAnswer | None = ReportAnswer(course_done=False)
    try:
        if wait:
            answer = await asyncio.wait_for(
                handle.execute_update(StudyWorkflow.report_session, report), REPORT_WAIT_SECONDS
            )
        else:
            await asyncio.wait_for(handle.signal(StudyWorkflow.session_ended, report), SIGNAL_WAIT_SECONDS)
    except (TimeoutError, RPCError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
        log.info("study report of enrollment %s not delivered yet: %s", enrollment_id, err)
        return None
    async with maker() as session:
        await study_ledger.clear_report(session, enrollment_id, report.session_id)
        await session.commit()
    return answer


_sending: set[asyncio.Task[ReportAnswer | None]] = set()  # kept referenced until they finish


def deliver_later(client: Client, maker: async_sessionmaker[AsyncSession], enrollment_id: int,
                  report: SessionReport) -> None:
    """Sends the report as a Signal without keeping the page waiting: the heartbeat that ended the
    session is answered from the ledger at once, even while Temporal is slow or away (the report
    stays due in the row, and the sweeper sends it if this attempt fails or the process dies)."""
    task = asyncio.create_task(deliver(client, maker, enrollment_id, report, wait=False))
    _sending.add(task)
    task.add_done_callback(_sending.discard)


async def pending_captcha(
    maker: async_sessionmaker[AsyncSession], enrollment_id: int, trainee_id: int
) -> tuple[str, int]:
    """The text and serial of the captcha the trainee's session waits on (for the image)."""
    async with maker() as session:
        row = await study_ledger.read(session, enrollment_id)
    if row is None or row.trainee_id != trainee_id or row.live.ended is not None:
        raise DomainError("NotFound")
    text, serial = row.live.captcha_text, row.live.captcha_serial
    if text is None or serial is None:
        raise DomainError("NotFound")
    return text, serial


async def with_live_credit(session: AsyncSession, enrollment_id: int, progress: StudyProgress) -> StudyProgress:
    """The progress with the credit of the session still playing (or not yet reported) added in:
    the workflow hears of a session's credit only when it ends."""
    row = await study_ledger.read(session, enrollment_id)
    if row is None or (row.live.ended is not None and not row.report_due):
        return progress
    for chapter in progress.chapters:
        if chapter.chapter_id == row.live.plan.chapter_id and row.live.credited > chapter.credited:
            progress.credited_total += row.live.credited - chapter.credited
            chapter.credited = row.live.credited
            if not chapter.done and chapter_done(chapter.credited, chapter.duration):
                chapter.done = True  # completed in the ledger, its report on the way: the next one opens
                reopen(progress.chapters)
    return progress


class StudySweeper:
    """Ends the sessions whose deadline passed (a closed page, an unanswered captcha) and sends the
    workflow every report it has not heard yet. Runs in each web process; a duplicate is harmless."""

    def __init__(
        self, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession], client: Client, every_seconds: float
    ) -> None:
        self.engine, self.maker, self.client, self.every = engine, maker, client, every_seconds

    async def sweep(self, now: float | None = None) -> int:
        """One round; returns how many reports were delivered."""
        moment = time.time() if now is None else now
        async with self.maker() as session:
            overdue = (
                await session.scalars(
                    select(StudyLedger.enrollment_id).where(
                        StudyLedger.live.is_(True), StudyLedger.deadline_at <= moment
                    )
                )
            ).all()
            expired: set[int] = set()
            for enrollment_id in overdue:
                with contextlib.suppress(DomainError):
                    await advance(self.engine, enrollment_id, expire)
                    expired.add(enrollment_id)
            due = (
                await session.scalars(select(StudyLedger.enrollment_id).where(StudyLedger.report_due.is_(True)))
            ).all()
        delivered = 0
        for enrollment_id in due:
            async with self.maker() as session:
                row = await study_ledger.read(session, enrollment_id)
            if row is None or not row.report_due or row.live.ended_at is None:
                continue
            if enrollment_id not in expired and row.live.ended_at > moment - PAGE_DELIVERY_SECONDS:
                continue  # ended by a page that is delivering the report itself: no second copy
            if await deliver(self.client, self.maker, enrollment_id, report_of(row.live), wait=False) is not None:
                delivered += 1
        return delivered

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception:  # the next round tries again; a sweeper that dies helps nobody
                log.exception("study sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.every)
