"""Side effects of the study process: the one-course slot and the study projections.

Every activity is idempotent (a retry after a crash, or a duplicate run, changes nothing more) and
conditional where two writers could race: the slot is a primary key, a swap or a withdrawal only
touches an enrollment that is still unstudied, and progress never moves backwards.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.orders import record_refund
from db import study_ledger
from db.base import utcnow
from db.models.orders import Enrollment, EnrollmentStatus, Order
from db.models.study import ActiveStudy, ChapterProgress
from domain.orders import RefundRequest
from domain.study import (
    ClaimResult,
    ClaimStudy,
    EndLedgerSession,
    ProgressRecord,
    SwapCourse,
    SwapResult,
    WithdrawResult,
    withdraw_refund_no,
)
from domain.study_ledger import SessionPlan, SessionReport, end, expire, open_live, report_of


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class StudyActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @activity.defn(name="study.claim")
    async def claim(self, req: ClaimStudy) -> ClaimResult:
        """Takes the trainee's one-course slot for this enrollment and marks it 学习中.

        The slot row's primary key is the trainee: of two simultaneous claims for different
        courses exactly one INSERT succeeds. Claiming a slot one already holds succeeds again."""
        async with self.sessionmaker() as session:
            session.add(
                ActiveStudy(trainee_id=req.trainee_id, enrollment_id=req.enrollment_id, started_at=_at(req.started_at))
            )
            try:
                await session.flush()
            except IntegrityError:
                await session.rollback()
                holder = await session.scalar(
                    select(ActiveStudy.enrollment_id).where(ActiveStudy.trainee_id == req.trainee_id)
                )
                if holder != req.enrollment_id:
                    return ClaimResult(ok=False, holder_enrollment_id=holder)
            await session.execute(
                update(Enrollment)
                .where(Enrollment.id == req.enrollment_id, Enrollment.status == EnrollmentStatus.NOT_STARTED)
                .values(status=EnrollmentStatus.STUDYING, started_at=_at(req.started_at))
            )
            await session.commit()
        return ClaimResult(ok=True, holder_enrollment_id=req.enrollment_id)

    @activity.defn(name="study.record_progress")
    async def record_progress(self, rec: ProgressRecord) -> None:
        """Writes credited seconds (never lowering them: a slow earlier attempt may land late) and,
        once the course is complete, the completion and the release of the one-course slot."""
        async with self.sessionmaker() as session:
            existing = {
                row.chapter_id: row
                for row in (
                    await session.scalars(
                        select(ChapterProgress).where(ChapterProgress.enrollment_id == rec.enrollment_id)
                    )
                ).all()
            }
            now = utcnow()
            for chapter in rec.chapters:
                row = existing.get(chapter.chapter_id)
                if row is None:
                    session.add(
                        ChapterProgress(
                            enrollment_id=rec.enrollment_id,
                            chapter_id=chapter.chapter_id,
                            credited_seconds=chapter.credited_seconds,
                            completed=chapter.completed,
                            updated_at=now,
                        )
                    )
                elif chapter.credited_seconds > row.credited_seconds or (chapter.completed and not row.completed):
                    row.credited_seconds = max(row.credited_seconds, chapter.credited_seconds)
                    row.completed = row.completed or chapter.completed
                    row.updated_at = now
            await session.execute(
                update(Enrollment)
                .where(Enrollment.id == rec.enrollment_id, Enrollment.credited_seconds < rec.credited_seconds)
                .values(credited_seconds=rec.credited_seconds)
            )
            if rec.completed_at is not None:
                await session.execute(
                    update(Enrollment)
                    .where(Enrollment.id == rec.enrollment_id, Enrollment.status != EnrollmentStatus.COMPLETED)
                    .values(
                        status=EnrollmentStatus.COMPLETED,
                        completed_at=_at(rec.completed_at),
                        credited_seconds=rec.credited_seconds,
                    )
                )
                await session.execute(delete(ActiveStudy).where(ActiveStudy.enrollment_id == rec.enrollment_id))
            # a duplicate attempt that inserted the same chapter rows first fails here; its retry updates
            await session.commit()

    @activity.defn(name="study.open_ledger")
    async def open_ledger(self, plan: SessionPlan) -> None:
        """Puts the new session's plan into the enrollment's ledger row, where heartbeats advance it.
        Whatever the row held is over (the workflow took its outcome first); a retry writes the
        same plan again."""
        async with self.sessionmaker() as session:
            await study_ledger.replace(session, open_live(plan))
            await session.commit()

    @activity.defn(name="study.end_ledger_session")
    async def end_ledger_session(self, req: EndLedgerSession) -> SessionReport | None:
        """Ends the session in the ledger (if it is still the row's and still live) and gives back its
        outcome; None when the row holds no such session. Ending an ended one only reads it; with
        ``force`` off (the backstop) a session whose deadline has not passed plays on."""
        async with self.sessionmaker() as session:
            for _ in range(5):  # a heartbeat may write between the read and the write: read again
                row = await study_ledger.read(session, req.enrollment_id)
                if row is None or row.live.plan.session_id != req.session_id:
                    return None
                ended = end(row.live, req.reason, req.at) if req.force else expire(row.live, req.at).live
                if ended is row.live or await study_ledger.write(
                    session, req.enrollment_id, row.version, ended, report_due=False
                ):
                    await session.commit()
                    return report_of(ended)
                await session.rollback()
        raise RuntimeError(f"ledger row of enrollment {req.enrollment_id} kept changing")  # retried

    @activity.defn(name="study.swap")
    async def swap(self, req: SwapCourse) -> SwapResult:
        """换课: the enrollment now holds the new course, if it is still unstudied and the trainee does
        not already hold the new course for that training year (the live-holding index decides)."""
        async with self.sessionmaker() as session:
            enrollment = await session.get(Enrollment, req.enrollment_id)
            if enrollment is None:
                return SwapResult(ok=False, code="NotFound")
            if enrollment.course_id == req.to_course_id and enrollment.swapped_from_course_id == req.from_course_id:
                return SwapResult(ok=True)  # a retry of a swap that was done
            try:
                result = await session.execute(
                    update(Enrollment)
                    .where(
                        Enrollment.id == req.enrollment_id,
                        Enrollment.course_id == req.from_course_id,
                        Enrollment.status == EnrollmentStatus.NOT_STARTED,
                    )
                    .values(
                        course_id=req.to_course_id,
                        swapped_from_course_id=req.from_course_id,
                        total_seconds=req.total_seconds,
                        credited_seconds=0,
                    )
                    .execution_options(synchronize_session=False)
                )
                await session.commit()
            except IntegrityError:
                # the live-holding index: the trainee already holds that course for this year
                await session.rollback()
                return SwapResult(ok=False, code="CourseAlreadyHeld")
        if result.rowcount == 0:  # type: ignore[attr-defined]
            return SwapResult(ok=False, code="SwapOnlyUnstudied")
        return SwapResult(ok=True)

    @activity.defn(name="study.withdraw")
    async def withdraw(self, enrollment_id: int) -> WithdrawResult:
        """退课: the enrollment leaves 我的课程 (and frees the course to be bought again); returns what
        the refund needs. A retry after the change finds it withdrawn and answers the same."""
        async with self.sessionmaker() as session:
            await session.execute(
                update(Enrollment)
                .where(Enrollment.id == enrollment_id, Enrollment.status == EnrollmentStatus.NOT_STARTED)
                .values(status=EnrollmentStatus.WITHDRAWN, withdrawn_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            enrollment = await session.get(Enrollment, enrollment_id)
            if enrollment is None:
                return WithdrawResult(ok=False, code="NotFound")
            if enrollment.status != EnrollmentStatus.WITHDRAWN:
                return WithdrawResult(ok=False, code="WithdrawOnlyUnstudied")
            order = await session.get(Order, enrollment.order_no)
            assert order is not None and order.trade_no, enrollment.order_no
            result = WithdrawResult(
                ok=True, order_no=order.order_no, trade_no=order.trade_no, amount_cents=enrollment.price_cents
            )
        # the refund's 退款单号 exists as soon as the course is withdrawn, for the page that says so;
        # the refund itself (RefundWorkflow) finds this row and keeps the number
        await record_refund(
            self.sessionmaker,
            RefundRequest(
                refund_no=withdraw_refund_no(enrollment_id),
                order_no=result.order_no,
                trade_no=result.trade_no,
                amount_cents=result.amount_cents,
                reason="withdraw",
                enrollment_id=enrollment_id,
            ),
        )
        return result

    def all(self) -> list[Callable[..., Any]]:
        return [self.claim, self.record_progress, self.open_ledger, self.end_ledger_session, self.swap, self.withdraw]
