"""StudyWorkflow: one enrollment's study, from the first 开始学习 / 换课 / 退课 to completion or withdrawal.

Id ``study-{enrollment_id}``, started lazily by the web layer with update-with-start. It owns the
enrollment's lifecycle, so every rule is decided here in one place:

- ``open_session``: chapters in order; the first session takes the trainee's one-course slot
  (activity ``study.claim``: a conditional INSERT, safe against two tabs and simultaneous requests).
- ``heartbeat``: credits only wall-clock time (``domain.study.credit_heartbeat``), refuses a seek,
  stops crediting while a captcha is pending and raises captchas at random playback moments.
- ``answer_captcha``: right → play on; wrong → new image; too many wrong → the session ends.
- timers: an unanswered captcha ends the session; so does a player that stopped sending heartbeats.
- ``swap`` / ``withdraw``: only while unstudied; a withdrawal starts ``RefundWorkflow``.
- completion: projection, slot release, certificate (``certificates.issue``) and platform-pushed
  hours (``hours.push_platform``).

Projection writes are activities run from the main loop, never on every heartbeat: after
``rules.flush_seconds`` of new credit, on each chapter completion and at each session end. The
history stays bounded: a run continues as new after a session once it is long (or when suggested).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from domain.certificates import CertificateRequest
    from domain.errors import DomainError
    from domain.hours_records import PlatformHours
    from domain.orders import RefundRequest
    from domain.process_text import refund_text, study_progress, study_text
    from domain.study import (
        Captcha,
        CaptchaAnswer,
        ChapterCredit,
        ChapterView,
        ClaimResult,
        ClaimStudy,
        EndReason,
        Heartbeat,
        OpenSession,
        ProgressRecord,
        Session,
        SessionView,
        StudyInput,
        StudyProgress,
        StudyState,
        StudyStatus,
        SwapCourse,
        SwapRequest,
        SwapResult,
        WithdrawRequest,
        WithdrawResult,
        captcha_matches,
        captcha_text,
        chapter_done,
        check_chapter_open,
        check_position,
        check_swap,
        check_withdraw,
        credit_heartbeat,
        first_open_chapter,
        next_captcha_in,
        withdraw_refund_no,
    )
    from workflows.common import (
        ACTIVITY_RETRY,
        ACTIVITY_TIMEOUT,
        BUSINESS_KEY,
        ORDER_NO,
        PROCESS_STATUS,
        SCHOOL_ID,
        TRAINEE_ID,
        refuse,
        set_status,
        show,
    )
    from workflows.refund import RefundWorkflow, refund_workflow_id

LOCAL_ACTIVITIES = frozenset({"study.claim", "study.swap", "study.withdraw"})
# how many ended sessions are remembered, so that a late heartbeat learns why its session ended
ENDED_KEPT = 8


def study_workflow_id(enrollment_id: int) -> str:
    return f"study-{enrollment_id}"


@workflow.defn
class StudyWorkflow:
    @workflow.init
    def __init__(self, inp: StudyInput) -> None:
        self.inp = inp
        self.rules = inp.rules
        self.text = study_text(inp)
        self.s: StudyState = inp.state or StudyState(
            status=StudyStatus.NOT_STARTED,
            course=inp.course,
            credited=[0.0] * len(inp.course.chapters),
        )
        # handlers that call activities (open, swap, withdraw) run one at a time
        self.lock = asyncio.Lock()
        self.flush_due = False
        self.armed: float | None = None  # the deadline the main loop is sleeping toward

    # ---- main loop: timers and projection writes ------------------------------------------------

    @workflow.run
    async def run(self, inp: StudyInput) -> str:
        set_status(self.s.status, self.text, self._progress())
        while True:
            await self._sleep()
            self._expire_session()
            if self.flush_due or self._completion_pending():
                await self._flush()
            if self.s.status == StudyStatus.COMPLETED and self.s.completion_recorded:
                await self._after_completion()
                break
            if self.s.status == StudyStatus.WITHDRAWN:
                break
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._should_continue_as_new():
                    workflow.continue_as_new(self._carry())
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.s.status

    async def _sleep(self) -> None:
        """Until there is work, or the next deadline (idle end, captcha timeout) passes."""
        deadline = self._deadline()
        self.armed = deadline
        if deadline is None:
            await workflow.wait_condition(self._has_work)
            return
        left = deadline - self._now()
        if left <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(self._has_work, timeout=timedelta(seconds=left))

    def _has_work(self) -> bool:
        if self.flush_due or self._completion_pending() or self.s.status == StudyStatus.WITHDRAWN:
            return True
        deadline = self._deadline()
        # heartbeats move the idle deadline later: that needs no new timer, the old one re-checks
        return deadline is not None and (self.armed is None or deadline < self.armed - 1e-6)

    def _deadline(self) -> float | None:
        session = self.s.session
        if session is None:
            return None
        deadline = session.last_seen_at + self.rules.idle_end_seconds
        if session.captcha is not None:
            deadline = min(deadline, session.captcha.deadline)
        return deadline

    def _expire_session(self) -> None:
        session = self.s.session
        if session is None:
            return
        now = self._now()
        if session.captcha is not None and now >= session.captcha.deadline:
            self._end_session(EndReason.CAPTCHA_TIMEOUT)
        elif now >= session.last_seen_at + self.rules.idle_end_seconds:
            self._end_session(EndReason.IDLE)

    def _completion_pending(self) -> bool:
        return self.s.status == StudyStatus.COMPLETED and not self.s.completion_recorded

    async def _flush(self) -> None:
        """Writes the projection (absolute values: a retried or repeated write is harmless)."""
        self.flush_due = False
        completing = self.s.status == StudyStatus.COMPLETED
        chapters = self.s.course.chapters
        record = ProgressRecord(
            enrollment_id=self.inp.enrollment_id,
            trainee_id=self.inp.trainee_id,
            credited_seconds=int(self._credited_total()),
            chapters=[
                ChapterCredit(c.chapter_id, int(credited), chapter_done(credited, c.duration_seconds))
                for c, credited in zip(chapters, self.s.credited, strict=True)
                if credited > 0
            ],
            completed_at=self._now() if completing else None,
        )
        await self._act("study.record_progress", record)
        self.s.flushed_total = float(record.credited_seconds)
        self.s.flushed_done = sum(1 for c in record.chapters if c.completed)
        show(self.text, self.s.status, self._progress())
        if completing:
            self.s.completion_recorded = True
            set_status(StudyStatus.COMPLETED, self.text, self._progress())

    async def _after_completion(self) -> None:
        eid = self.inp.enrollment_id
        await asyncio.gather(
            self._act("certificates.issue", CertificateRequest(enrollment_id=eid)),
            self._act("hours.push_platform", PlatformHours(enrollment_id=eid)),
        )

    def _should_continue_as_new(self) -> bool:
        if self.s.status in StudyStatus.TERMINAL or self.flush_due:
            return False
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        return self.s.session is None and info.get_current_history_length() >= self.rules.continue_after_events

    def _progress(self) -> str:
        chapters = self.s.course.chapters
        done = sum(1 for i, c in enumerate(chapters) if chapter_done(self.s.credited[i], c.duration_seconds))
        return study_progress(done, len(chapters))

    def _carry(self) -> StudyInput:
        self.s.events_before += workflow.info().get_current_history_length()
        return StudyInput(
            enrollment_id=self.inp.enrollment_id,
            trainee_id=self.inp.trainee_id,
            school_id=self.inp.school_id,
            training_year=self.inp.training_year,
            course=self.s.course,
            rules=self.rules,
            state=self.s,
            trainee_name=self.inp.trainee_name,
            course_title=self.inp.course_title,
        )

    # ---- open a playing session -----------------------------------------------------------------

    @workflow.update
    async def open_session(self, req: OpenSession) -> SessionView:
        async with self.lock:
            index = self._check_open(req)  # again: a swap or a completion may have happened meanwhile
            if not self.s.claimed:
                claim: ClaimResult = await self._act(
                    "study.claim",
                    ClaimStudy(self.inp.trainee_id, self.inp.enrollment_id, self._now()),
                    result_type=ClaimResult,
                )
                if not claim.ok:
                    raise refuse("OneCourseAtATime")
                self.s.claimed = True
                self.s.status = StudyStatus.STUDYING
                set_status(StudyStatus.STUDYING, self.text, self._progress())
            if self.s.session is not None:
                self._end_session(EndReason.REPLACED)
            now = self._now()
            session = Session(
                session_id=str(workflow.uuid4()),
                chapter_index=index,
                opened_at=now,
                last_beat_at=now,
                last_seen_at=now,
                slack=self.rules.heartbeat_tolerance_seconds,
            )
            self.s.session = session
            if self.s.until_captcha is None:
                self.s.until_captcha = next_captcha_in(workflow.random(), self.rules)
            elif self.s.until_captcha <= 0:
                # the last session ended on a captcha: the next one starts with one (manual: 后面正确输入验证码即可)
                self._raise_captcha(session, now)
            return self._view(session)

    @open_session.validator
    def _validate_open(self, req: OpenSession) -> None:
        self._check_open(req)

    def _check_open(self, req: OpenSession) -> int:
        self._check_owner(req.trainee_id)
        self._check_not_terminal()
        index = next((i for i, c in enumerate(self.s.course.chapters) if c.chapter_id == req.chapter_id), None)
        self._domain(check_chapter_open, index, self.s.credited, self.s.course.chapters)
        assert index is not None
        return index

    # ---- heartbeats -----------------------------------------------------------------------------

    @workflow.update
    async def heartbeat(self, beat: Heartbeat) -> SessionView:
        session = self._live_session(beat.session_id)
        now = self._now()
        session.last_seen_at = now
        if session.captcha is not None:
            return self._view(session)  # nothing is credited while a captcha waits
        index = session.chapter_index
        duration = self.s.course.chapters[index].duration_seconds
        credited = self.s.credited[index]
        credit = self._domain(
            credit_heartbeat,
            credited=credited,
            claimed=beat.position,
            elapsed=now - session.last_beat_at,
            slack=session.slack,
            tolerance=self.rules.heartbeat_tolerance_seconds,
            remaining=duration - credited,
            until_captcha=self.s.until_captcha,
        )
        self.s.credited[index] = credited + credit.gain
        if self.s.until_captcha is not None:
            self.s.until_captcha -= credit.gain
        session.slack = credit.slack
        session.last_beat_at = now
        if chapter_done(self.s.credited[index], duration):
            return await self._chapter_completed(session, index)
        if self.s.until_captcha is not None and self.s.until_captcha <= 1e-6:
            self._raise_captcha(session, now)
        if self._credited_total() - self.s.flushed_total >= self.rules.flush_seconds:
            self.flush_due = True
        return self._view(session)

    @heartbeat.validator
    def _validate_heartbeat(self, beat: Heartbeat) -> None:
        session = self._live_session(beat.session_id, check_owner=beat.trainee_id)
        if session.captcha is None:
            self._domain(
                check_position,
                credited=self.s.credited[session.chapter_index],
                claimed=beat.position,
                elapsed=self._now() - session.last_beat_at,
                slack=session.slack,
            )

    async def _chapter_completed(self, session: Session, index: int) -> SessionView:
        self.s.credited[index] = float(self.s.course.chapters[index].duration_seconds)
        self._end_session(EndReason.CHAPTER_DONE)
        self.flush_due = True
        view = self._view(session, ended=None)
        view.chapter_done = True
        if first_open_chapter(self.s.credited, self.s.course.chapters) is None:
            self.s.status = StudyStatus.COMPLETED
            # answer once the course shows as completed in 我的课程 (the main loop writes it)
            await workflow.wait_condition(lambda: self.s.completion_recorded)
            view.course_done = True
        return view

    # ---- captcha --------------------------------------------------------------------------------

    @workflow.update
    async def answer_captcha(self, answer: CaptchaAnswer) -> SessionView:
        session = self._live_session(answer.session_id)
        now = self._now()
        session.last_seen_at = now
        captcha = session.captcha
        if captcha is None:
            return self._view(session)
        if captcha_matches(captcha.text, answer.answer):
            session.captcha = None
            session.last_beat_at = now  # the time spent on the captcha is not study time
            session.slack = self.rules.heartbeat_tolerance_seconds
            self.s.until_captcha = next_captcha_in(workflow.random(), self.rules)
            return self._view(session)
        captcha.wrong += 1
        if captcha.wrong >= self.rules.captcha_max_wrong:
            self._end_session(EndReason.CAPTCHA_WRONG)
            return self._view(session, ended=EndReason.CODES[EndReason.CAPTCHA_WRONG])
        self.s.captcha_serial += 1
        captcha.text = captcha_text(workflow.random())
        captcha.serial = self.s.captcha_serial
        captcha.issued_at = now
        captcha.deadline = now + self.rules.captcha_timeout_seconds
        view = self._view(session)
        view.wrong = True
        return view

    @answer_captcha.validator
    def _validate_answer(self, answer: CaptchaAnswer) -> None:
        self._live_session(answer.session_id, check_owner=answer.trainee_id)

    def _raise_captcha(self, session: Session, now: float) -> None:
        self.s.captcha_serial += 1
        session.captcha = Captcha(
            text=captcha_text(workflow.random()),
            serial=self.s.captcha_serial,
            issued_at=now,
            deadline=now + self.rules.captcha_timeout_seconds,
        )
        self.s.until_captcha = 0.0

    # ---- swap and withdraw ----------------------------------------------------------------------

    @workflow.update
    async def swap(self, req: SwapRequest) -> str:
        async with self.lock:
            self._check_swap(req)
            old = self.s.course
            result: SwapResult = await self._act(
                "study.swap",
                SwapCourse(self.inp.enrollment_id, old.course_id, req.course.course_id, req.course.total_seconds),
                result_type=SwapResult,
            )
            if not result.ok:
                raise refuse(result.code or "SwapOnlyUnstudied")
            self.s.swapped_from.append(old.course_id)
            self.s.course = req.course
            self.s.credited = [0.0] * len(req.course.chapters)
            return "swapped"

    @swap.validator
    def _validate_swap(self, req: SwapRequest) -> None:
        self._check_swap(req)

    def _check_swap(self, req: SwapRequest) -> None:
        self._check_owner(req.trainee_id)
        self._domain(check_swap, self.s.course, req.course, self.s.status, self.s.claimed)

    @workflow.update
    async def withdraw(self, req: WithdrawRequest) -> str:
        async with self.lock:
            self._check_withdraw(req)
            if self.s.status == StudyStatus.WITHDRAWN:
                return StudyStatus.WITHDRAWN  # pressed twice: the first press did it all
            eid = self.inp.enrollment_id
            result: WithdrawResult = await self._act("study.withdraw", eid, result_type=WithdrawResult)
            if not result.ok:
                raise refuse(result.code or "WithdrawOnlyUnstudied")
            self.s.status = StudyStatus.WITHDRAWN
            set_status(StudyStatus.WITHDRAWN, self.text, self._progress())
            await self._start_refund(result)
            return StudyStatus.WITHDRAWN

    @withdraw.validator
    def _validate_withdraw(self, req: WithdrawRequest) -> None:
        self._check_withdraw(req)

    def _check_withdraw(self, req: WithdrawRequest) -> None:
        self._check_owner(req.trainee_id)
        self._domain(check_withdraw, self.s.status, self.s.claimed)

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
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(BUSINESS_KEY, refund_workflow_id(eid)),
                        SearchAttributePair(TRAINEE_ID, str(self.inp.trainee_id)),
                        SearchAttributePair(SCHOOL_ID, str(self.inp.school_id)),
                        SearchAttributePair(ORDER_NO, result.order_no),
                        SearchAttributePair(PROCESS_STATUS, "refunding"),
                    ]
                ),
            )

    # ---- queries --------------------------------------------------------------------------------

    @workflow.query
    def progress(self) -> StudyProgress:
        open_index = first_open_chapter(self.s.credited, self.s.course.chapters)
        session = self.s.session
        return StudyProgress(
            status=self.s.status,
            course_id=self.s.course.course_id,
            chapters=[
                ChapterView(
                    chapter_id=c.chapter_id,
                    seq=c.seq,
                    title=c.title,
                    duration=c.duration_seconds,
                    credited=self.s.credited[i],
                    done=chapter_done(self.s.credited[i], c.duration_seconds),
                    open=i == open_index and self.s.status not in StudyStatus.TERMINAL,
                )
                for i, c in enumerate(self.s.course.chapters)
            ],
            credited_total=self._credited_total(),
            total_seconds=self.s.course.total_seconds,
            session_id=session.session_id if session else None,
            history_events=self.s.events_before + workflow.info().get_current_history_length(),
        )

    @workflow.query
    def captcha(self, trainee_id: int) -> Captcha | None:
        """The pending challenge, for the web layer to draw (its text never goes to the browser)."""
        if trainee_id != self.inp.trainee_id or self.s.session is None:
            return None
        return self.s.session.captcha

    # ---- helpers --------------------------------------------------------------------------------

    def _live_session(self, session_id: str, check_owner: int | None = None) -> Session:
        """The current session, or the refusal that tells the player why it is over."""
        if check_owner is not None:
            self._check_owner(check_owner)
        if self.s.status in StudyStatus.TERMINAL:
            raise refuse("SessionEnded")
        session = self.s.session
        if session is None or session.session_id != session_id:
            reason = self.s.ended.get(session_id, EndReason.IDLE)
            raise refuse(EndReason.CODES[reason])
        # a deadline that passed counts even before its timer has fired
        now = self._now()
        if session.captcha is not None and now >= session.captcha.deadline:
            raise refuse("CaptchaTimeout")
        if now >= session.last_seen_at + self.rules.idle_end_seconds:
            raise refuse("SessionEnded")
        return session

    def _end_session(self, reason: str) -> None:
        session = self.s.session
        if session is None:
            return
        self.s.ended[session.session_id] = reason
        while len(self.s.ended) > ENDED_KEPT:
            del self.s.ended[next(iter(self.s.ended))]
        self.s.session = None
        if self._credited_total() > self.s.flushed_total:
            self.flush_due = True

    def _view(self, session: Session, ended: str | None = None) -> SessionView:
        index = session.chapter_index
        chapter = self.s.course.chapters[index]
        captcha = session.captcha if self.s.session is session else None
        until = self.s.until_captcha
        return SessionView(
            session_id=session.session_id,
            chapter_id=chapter.chapter_id,
            duration=chapter.duration_seconds,
            position=self.s.credited[index],
            chapter_done=chapter_done(self.s.credited[index], chapter.duration_seconds),
            captcha_serial=captcha.serial if captcha else None,
            captcha_expires_in=max(captcha.deadline - self._now(), 0.0) if captcha else None,
            check_in=until if until is not None and until > 0 and captcha is None else None,
            ended=ended,
        )

    def _check_owner(self, trainee_id: int) -> None:
        if trainee_id != self.inp.trainee_id:
            raise refuse("NotFound")  # another trainee's enrollment is indistinguishable from none

    def _check_not_terminal(self) -> None:
        if self.s.status == StudyStatus.COMPLETED:
            raise refuse("CourseCompleted")
        if self.s.status == StudyStatus.WITHDRAWN:
            raise refuse("CourseWithdrawn")

    @staticmethod
    def _domain(rule: Any, *args: Any, **kwargs: Any) -> Any:
        """Runs a domain rule; its DomainError becomes the Update's typed refusal."""
        try:
            return rule(*args, **kwargs)
        except DomainError as err:
            raise refuse(err.code) from None

    def _credited_total(self) -> float:
        return sum(self.s.credited)

    @staticmethod
    def _now() -> float:
        return workflow.now().timestamp()

    async def _act(self, name: str, arg: object, result_type: type | None = None) -> Any:
        """The short database steps a page waits for (claim, swap, withdraw) run as local activities:
        no extra server round trips while the trainee waits. Projection writes, certificates and
        hours are regular activities: nobody waits on them, and they keep heartbeats' answers short."""
        if name in LOCAL_ACTIVITIES:
            return await workflow.execute_local_activity(
                name, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY,
                result_type=result_type,
            )
        return await workflow.execute_activity(
            name,
            arg,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            result_type=result_type,
        )
