"""StudyWorkflow: one enrollment's study, from the first 开始学习 / 换课 / 退课 to completion or withdrawal.

Id ``study-{enrollment_id}``, started lazily by the web layer with update-with-start. It owns the
enrollment's lifecycle and decides every rule; the player's heartbeats never reach it:

- ``open_session``: chapters in order; the first session takes the trainee's one-course slot
  (activity ``study.claim``: a conditional INSERT, safe against two tabs and simultaneous requests).
  It decides the session's plan (``domain.study_ledger.SessionPlan``: the credit it starts from, the
  random playback moments of its captchas and their texts, the tolerance and the time limits) and
  puts it into the live-session ledger (``study.open_ledger``). A session still open there is ended
  first and its outcome counted: a second tab or device takes over.
- The web layer advances the ledger on every heartbeat with the plan's rules
  (``domain/study_ledger.py``) and reports each session's end once: ``report_session`` (Update,
  when a chapter completes: the page waits for the answer) or ``session_ended`` (Signal, from the
  web's sweeper: idle end, captcha timeout or too many wrong answers, a closed page). The reported
  credit is counted only as far as this workflow's own clock allows since the session opened.
- backstop: a session with no report for ``rules.backstop_seconds`` (default 6 h) is read from the
  ledger, so a study never waits on a web process that is gone.
- ``swap`` / ``withdraw``: only while unstudied; a withdrawal starts ``RefundWorkflow``.
- completion: projection, slot release, certificate (``certificates.issue``) and platform-pushed
  hours (``hours.push_platform``).

The projection is written at each session's end (a local activity: one history event). The
history stays bounded: a run continues as new after a session once it is long (or when suggested).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from domain.certificates import CertificateRequest
    from domain.errors import DomainError
    from domain.hours_records import PlatformHours
    from domain.orders import RefundRequest
    from domain.process_text import refund_text, study_progress, study_text
    from domain.study import (
        ChapterCredit,
        ChapterView,
        ClaimStudy,
        EndLedgerSession,
        EndReason,
        OpenSession,
        ProgressRecord,
        ReportAnswer,
        Session,
        SessionView,
        StudyInput,
        StudyProgress,
        StudyState,
        StudyStatus,
        SwapCourse,
        SwapRequest,
        WithdrawRequest,
        WithdrawResult,
        accepted_credit,
        captcha_left,
        captcha_moments,
        captcha_text,
        chapter_done,
        check_chapter_open,
        check_swap,
        check_withdraw,
        first_open_chapter,
        withdraw_refund_no,
    )
    from domain.study_ledger import PlannedCaptcha, SessionPlan, SessionReport, open_live, view_of
    from workflows.common import (
        process_attributes,
        refuse,
        run_step,
        set_status,
        show,
    )
    from workflows.refund import RefundWorkflow, refund_workflow_id
    from workflows.steps import study as steps

# how many ended sessions are remembered, so that a late report of one is recognised
ENDED_KEPT = 8


# the memo of every run started on the ledger (runner/study_upgrade.py leaves these alone)
LEDGER_MEMO = {"study_model": "ledger"}


def study_workflow_id(enrollment_id: int) -> str:
    return f"study-{enrollment_id}"


@workflow.defn
class StudyWorkflow:
    @workflow.init
    def __init__(self, inp: StudyInput) -> None:
        self.inp = inp
        self.rules = inp.rules
        self.text = study_text(inp)
        self.state: StudyState = inp.state or StudyState(
            status=StudyStatus.NOT_STARTED,
            course=inp.course,
            credited=[0.0] * len(inp.course.chapters),
        )
        # handlers that call activities (open, report, swap, withdraw) run one at a time
        self.lock = asyncio.Lock()

    # ---- main loop: the backstop, completion, continue-as-new -----------------------------------

    @workflow.run
    async def run(self, inp: StudyInput) -> str:
        set_status(self.state.status, self.text, self._progress())
        while True:
            await self._sleep()
            session = self.state.session
            if session is not None and self._now() >= session.backstop_at:
                async with self.lock:
                    await self._collect(session)
            if self._finished():
                if self.state.status == StudyStatus.COMPLETED:
                    await self._after_completion()
                break
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._should_continue_as_new():
                    workflow.continue_as_new(self._carry())
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state.status

    async def _sleep(self) -> None:
        """Until the study ends or should continue as new, and with a session open until its backstop.
        Sessions opening and ending meanwhile do not re-arm the timer (a timer and its cancellation
        are two history events; one per backstop period, not one per session): when it fires, the
        session open then is looked at, and its own backstop is slept toward if it is not yet due."""
        session = self.state.session
        if session is None:
            await workflow.wait_condition(lambda: self._wakes() or self.state.session is not None)
            return
        left = session.backstop_at - self._now()
        if left <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(self._wakes, timeout=timedelta(seconds=left))

    def _wakes(self) -> bool:
        return self._finished() or self._should_continue_as_new()

    def _finished(self) -> bool:
        """Withdrawn, or completed with the completion written (a handler may still be writing it)."""
        status = self.state.status
        return status == StudyStatus.WITHDRAWN or (status == StudyStatus.COMPLETED and self.state.completion_recorded)

    async def _collect(self, session: Session) -> None:
        """The backstop: no report came, so the ledger is asked whether the session is over."""
        if self.state.session is not session:
            return  # reported meanwhile
        report = await run_step(
            steps.end_ledger_session,
            EndLedgerSession(self.inp.enrollment_id, session.session_id, EndReason.IDLE, self._now(), force=False),
            local=True,
        )
        if report is None or report.session_id != session.session_id:
            self._forget(session, EndReason.IDLE)  # the ledger holds no such session any more
        elif report.reason:
            await self._take(report)
        else:
            session.backstop_at = self._now() + self.rules.backstop_seconds  # still playing

    async def _after_completion(self) -> None:
        eid = self.inp.enrollment_id
        await asyncio.gather(
            run_step(steps.issue_certificate, CertificateRequest(enrollment_id=eid)),
            run_step(steps.push_platform_hours, PlatformHours(enrollment_id=eid)),
        )

    def _should_continue_as_new(self) -> bool:
        if self.state.status in StudyStatus.TERMINAL:
            return False
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        return self.state.session is None and info.get_current_history_length() >= self.rules.continue_after_events

    def _progress(self) -> str:
        chapters = self.state.course.chapters
        done = sum(1 for i, c in enumerate(chapters) if chapter_done(self.state.credited[i], c.duration_seconds))
        return study_progress(done, len(chapters))

    def _carry(self) -> StudyInput:
        self.state.events_before += workflow.info().get_current_history_length()
        return StudyInput(
            enrollment_id=self.inp.enrollment_id,
            trainee_id=self.inp.trainee_id,
            school_id=self.inp.school_id,
            training_year=self.inp.training_year,
            course=self.state.course,
            rules=self.rules,
            state=self.state,
            trainee_name=self.inp.trainee_name,
            course_title=self.inp.course_title,
        )

    # ---- open a playing session -----------------------------------------------------------------

    @workflow.update
    async def open_session(self, req: OpenSession) -> SessionView:
        async with self.lock:
            self._check_open(req, optimistic=True)  # again: a swap or a completion may have happened meanwhile
            if not self.state.claimed:
                claim = await run_step(
                    steps.claim, ClaimStudy(self.inp.trainee_id, self.inp.enrollment_id, self._now()), local=True
                )
                if not claim.ok:
                    raise refuse("OneCourseAtATime")
                self.state.claimed = True
                self.state.status = StudyStatus.STUDYING
                set_status(StudyStatus.STUDYING, self.text, self._progress())
            previous = self.state.session
            if previous is not None:
                # another tab or device, or a session whose end is not reported yet: it ends here
                await self._collect_replaced(previous)
            index = self._check_open(req)  # the previous session may just have completed the chapter
            plan = self._plan(index)
            await run_step(steps.open_ledger, plan, local=True)
            self.state.session = Session(
                session_id=plan.session_id,
                chapter_index=index,
                opened_at=plan.opened_at,
                start_credit=plan.credited,
                captcha_at=[c.at for c in plan.captchas],
                backstop_at=plan.opened_at + self.rules.backstop_seconds,
            )
            return view_of(open_live(plan), plan.opened_at)

    @open_session.validator
    def _validate_open(self, req: OpenSession) -> None:
        # the session still open may have completed its chapter in the ledger (its report on the
        # way): the next chapter is admitted, and the handler checks again once it has the report
        self._check_open(req, optimistic=True)

    def _check_open(self, req: OpenSession, optimistic: bool = False) -> int:
        self._check_owner(req.trainee_id)
        self._check_not_terminal()
        chapters = self.state.course.chapters
        index = next((i for i, c in enumerate(chapters) if c.chapter_id == req.chapter_id), None)
        session = self.state.session
        if optimistic and session is not None and index is not None and index != session.chapter_index:
            # as if the playing session had completed its chapter: the next one may be admitted
            credited = list(self.state.credited)
            credited[session.chapter_index] = float(chapters[session.chapter_index].duration_seconds)
            self._domain(check_chapter_open, index, credited, chapters)
        else:
            self._domain(check_chapter_open, index, self.state.credited, chapters)
        assert index is not None
        return index

    async def _collect_replaced(self, previous: Session) -> None:
        report = await run_step(
            steps.end_ledger_session,
            EndLedgerSession(self.inp.enrollment_id, previous.session_id, EndReason.REPLACED, self._now()),
            local=True,
        )
        if report is not None and report.session_id == previous.session_id:
            await self._take(report)
        else:
            self._forget(previous, EndReason.REPLACED)

    def _plan(self, index: int) -> SessionPlan:
        """The session's plan: where it starts, when its captchas come and what they show."""
        rules, chapter = self.rules, self.state.course.chapters[index]
        credited, now = self.state.credited[index], self._now()
        rnd = workflow.random()
        moments = captcha_moments(rnd, credited, self.state.until_captcha, chapter.duration_seconds, rules)
        wrong_allowed = max(rules.captcha_max_wrong, 1)
        captchas = [PlannedCaptcha(at, [captcha_text(rnd) for _ in range(wrong_allowed)]) for at in moments]
        serial_base = self.state.captcha_serial
        self.state.captcha_serial += len(captchas) * (wrong_allowed + 1)
        return SessionPlan(
            session_id=str(workflow.uuid4()),
            enrollment_id=self.inp.enrollment_id,
            trainee_id=self.inp.trainee_id,
            chapter_id=chapter.chapter_id,
            duration=chapter.duration_seconds,
            credited=credited,
            opened_at=now,
            captchas=captchas,
            tolerance=rules.heartbeat_tolerance_seconds,
            captcha_timeout=rules.captcha_timeout_seconds,
            captcha_max_wrong=wrong_allowed,
            idle_end=rules.idle_end_seconds,
            serial_base=serial_base,
            completes_course=all(
                chapter_done(c, other.duration_seconds)
                for i, (c, other) in enumerate(zip(self.state.credited, self.state.course.chapters, strict=True))
                if i != index
            ),
        )

    # ---- a session's end, reported by the web layer ---------------------------------------------

    @workflow.update
    async def report_session(self, report: SessionReport) -> ReportAnswer:
        """A chapter completed (the page waits: it shows 本章节已学完 or the whole course done)."""
        async with self.lock:
            session = self.state.session
            if session is not None and session.session_id == report.session_id:
                await self._take(report)
            if self.state.status == StudyStatus.COMPLETED:
                # answer once the course shows as completed in 我的课程
                await workflow.wait_condition(lambda: self.state.completion_recorded)
            return ReportAnswer(course_done=self.state.status == StudyStatus.COMPLETED)

    @report_session.validator
    def _validate_report(self, report: SessionReport) -> None:
        if not report.session_id or not report.reason:
            raise refuse("NotFound")

    @workflow.signal
    async def session_ended(self, report: SessionReport) -> None:
        """A session ended in the ledger (idle, captcha, closed page), or a report the page could not
        deliver: the web's sweeper sends it, again until it is heard; a repeat changes nothing."""
        async with self.lock:
            session = self.state.session
            if session is not None and session.session_id == report.session_id:
                await self._take(report)

    async def _take(self, report: SessionReport) -> None:
        """Counts a session's outcome (within this workflow's clock) and writes the projection."""
        session = self.state.session
        assert session is not None and session.session_id == report.session_id
        index = session.chapter_index
        duration = self.state.course.chapters[index].duration_seconds
        credit = accepted_credit(
            report.credited,
            start=session.start_credit,
            opened_at=session.opened_at,
            now=self._now(),
            tolerance=self.rules.heartbeat_tolerance_seconds,
            duration=duration,
        )
        self.state.credited[index] = max(self.state.credited[index], credit)
        self.state.until_captcha = captcha_left(
            session.captcha_at, report.passed, self.state.credited[index], report.captcha_pending
        )
        self._forget(session, report.reason)
        if first_open_chapter(self.state.credited, self.state.course.chapters) is None:
            self.state.status = StudyStatus.COMPLETED
        await self._flush()

    def _forget(self, session: Session, reason: str) -> None:
        self.state.ended[session.session_id] = reason
        while len(self.state.ended) > ENDED_KEPT:
            del self.state.ended[next(iter(self.state.ended))]
        if self.state.session is session:
            self.state.session = None

    async def _flush(self) -> None:
        """Writes the projection (absolute values: a retried or repeated write is harmless)."""
        completing = self.state.status == StudyStatus.COMPLETED
        chapters = self.state.course.chapters
        record = ProgressRecord(
            enrollment_id=self.inp.enrollment_id,
            trainee_id=self.inp.trainee_id,
            credited_seconds=int(self._credited_total()),
            chapters=[
                ChapterCredit(c.chapter_id, int(credited), chapter_done(credited, c.duration_seconds))
                for c, credited in zip(chapters, self.state.credited, strict=True)
                if credited > 0
            ],
            completed_at=self._now() if completing else None,
        )
        await run_step(steps.record_progress, record, local=True)
        show(self.text, self.state.status, self._progress())
        if completing:
            self.state.completion_recorded = True
            set_status(StudyStatus.COMPLETED, self.text, self._progress())

    # ---- swap and withdraw ----------------------------------------------------------------------

    @workflow.update
    async def swap(self, req: SwapRequest) -> str:
        async with self.lock:
            self._check_swap(req)
            old = self.state.course
            result = await run_step(
                steps.swap,
                SwapCourse(self.inp.enrollment_id, old.course_id, req.course.course_id, req.course.total_seconds),
                local=True,
            )
            if not result.ok:
                raise refuse(result.code or "SwapOnlyUnstudied")
            self.state.swapped_from.append(old.course_id)
            self.state.course = req.course
            self.state.credited = [0.0] * len(req.course.chapters)
            return "swapped"

    @swap.validator
    def _validate_swap(self, req: SwapRequest) -> None:
        self._check_swap(req)

    def _check_swap(self, req: SwapRequest) -> None:
        self._check_owner(req.trainee_id)
        self._domain(check_swap, self.state.course, req.course, self.state.status, self.state.claimed)

    @workflow.update
    async def withdraw(self, req: WithdrawRequest) -> str:
        async with self.lock:
            self._check_withdraw(req)
            if self.state.status == StudyStatus.WITHDRAWN:
                return StudyStatus.WITHDRAWN  # pressed twice: the first press did it all
            result = await run_step(steps.withdraw, self.inp.enrollment_id, local=True)
            if not result.ok:
                raise refuse(result.code or "WithdrawOnlyUnstudied")
            self.state.status = StudyStatus.WITHDRAWN
            set_status(StudyStatus.WITHDRAWN, self.text, self._progress())
            await self._start_refund(result)
            return StudyStatus.WITHDRAWN

    @withdraw.validator
    def _validate_withdraw(self, req: WithdrawRequest) -> None:
        self._check_withdraw(req)

    def _check_withdraw(self, req: WithdrawRequest) -> None:
        self._check_owner(req.trainee_id)
        self._domain(check_withdraw, self.state.status, self.state.claimed)

    async def _start_refund(self, result: WithdrawResult) -> None:
        eid = self.inp.enrollment_id
        request = RefundRequest(
            refund_no=withdraw_refund_no(eid),
            order_no=result.order_no,
            trade_no=result.trade_no,
            amount_cents=result.amount_cents,
            reason="withdraw",
            enrollment_id=eid,
        )
        text = refund_text(request)
        # an id conflict means that refund is already on its way: nothing is paid back twice
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                RefundWorkflow.run,
                request,
                id=refund_workflow_id(eid),
                static_summary=text.summary,
                static_details=text.details,
                # the refund outlives this workflow, which ends with the withdrawal
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=process_attributes(
                    "refunding",
                    business_key=refund_workflow_id(eid),
                    trainee_id=self.inp.trainee_id,
                    school_id=self.inp.school_id,
                    order_no=result.order_no,
                ),
            )

    # ---- queries --------------------------------------------------------------------------------

    @workflow.query
    def progress(self) -> StudyProgress:
        open_index = first_open_chapter(self.state.credited, self.state.course.chapters)
        session = self.state.session
        return StudyProgress(
            status=self.state.status,
            course_id=self.state.course.course_id,
            chapters=[
                ChapterView(
                    chapter_id=c.chapter_id,
                    seq=c.seq,
                    title=c.title,
                    duration=c.duration_seconds,
                    credited=self.state.credited[i],
                    done=chapter_done(self.state.credited[i], c.duration_seconds),
                    open=i == open_index and self.state.status not in StudyStatus.TERMINAL,
                )
                for i, c in enumerate(self.state.course.chapters)
            ],
            credited_total=self._credited_total(),
            total_seconds=self.state.course.total_seconds,
            session_id=session.session_id if session else None,
            history_events=self.state.events_before + workflow.info().get_current_history_length(),
        )

    # ---- helpers --------------------------------------------------------------------------------

    def _check_owner(self, trainee_id: int) -> None:
        if trainee_id != self.inp.trainee_id:
            raise refuse("NotFound")  # another trainee's enrollment is indistinguishable from none

    def _check_not_terminal(self) -> None:
        if self.state.status == StudyStatus.COMPLETED:
            raise refuse("CourseCompleted")
        if self.state.status == StudyStatus.WITHDRAWN:
            raise refuse("CourseWithdrawn")

    @staticmethod
    def _domain(rule: Any, *args: Any, **kwargs: Any) -> Any:
        """Runs a domain rule; its DomainError becomes the Update's typed refusal."""
        try:
            return rule(*args, **kwargs)
        except DomainError as err:
            raise refuse(err.code) from None

    def _credited_total(self) -> float:
        return sum(self.state.credited)

    @staticmethod
    def _now() -> float:
        return workflow.now().timestamp()
