"""StudyWorkflow and RefundWorkflow with fake activities on the time-skipping server, where a test
moves the clock itself (env.sleep).

The fakes hold a live-session ledger as the database does (``study.open_ledger`` stores the plan's
``open_live``, ``study.end_ledger_session`` ends or expires a session and reports it), and the test's
``Page`` plays the web layer: it applies the ledger's rules (domain/study_ledger.py) to every
heartbeat at the server's current time and reports a session's end to the workflow once (Update
``report_session`` when the chapter completes, Signal ``session_ended`` otherwise).

What a trainee notices: credit follows the clock and a seek is refused (and a forged report is
capped by the workflow's own clock); chapters open in order; captchas 10-20 minutes of playback apart,
and a session that ended on one starts the next with it; a second tab takes over and its credit
counts; a closed page or an idle end keeps the credit; a repeated report changes nothing; the last
chapter completes the course (certificate and hours once); one course at a time under concurrent
first sessions; the backstop reads the ledger when no report comes; swap; withdraw with its refund
exactly once; continue-as-new keeps the progress.

RECORD_HISTORIES=1 re-records the histories that tests/workflows/test_replay.py replays."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain import study_ledger as ledger
from domain.certificates import CertificateRequest
from domain.hours_records import PlatformHours
from domain.orders import RefundDone, RefundRequest
from domain.study import (
    CAPTCHA_ALPHABET,
    CAPTCHA_LENGTH,
    ChapterSpec,
    ClaimResult,
    ClaimStudy,
    CourseRef,
    EndLedgerSession,
    EndReason,
    OpenSession,
    ProgressRecord,
    ReportAnswer,
    SessionView,
    StudyInput,
    StudyProgress,
    StudyRules,
    SwapCourse,
    SwapRequest,
    SwapResult,
    WithdrawRequest,
    WithdrawResult,
)
from domain.study_ledger import LiveSession, SessionPlan, SessionReport
from tests.conftest import time_skipping_env
from tests.workflows.histories import record
from workflows.refund import RefundWorkflow
from workflows.study import StudyWorkflow

QUEUE = "study-test"
TRAINEE = 7
CH1, CH2 = 101, 102


@pytest_asyncio.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """Study's timers on a server of their own: a process another module left waiting on the shared
    server holds its clock, and the Updates here then time out."""
    async for env in time_skipping_env():
        yield env


@dataclass
class FakeStudySide:
    """Stands in for the database (with its live-session ledger), the provider, certificates and
    hours; records every call."""

    slots: dict[int, int] = field(default_factory=dict)  # trainee -> enrollment (the one-course slot)
    calls: list[tuple[str, object]] = field(default_factory=list)
    held: set[int] = field(default_factory=set)  # courses the trainee already holds (swap refuses)
    handles: list[WorkflowHandle] = field(default_factory=list)  # terminated after the test
    rows: dict[int, str] = field(default_factory=dict)  # the ledger: enrollment -> the session its row holds
    sessions: dict[str, LiveSession] = field(default_factory=dict)  # every session the ledger held, by id

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def args(self, name: str) -> list[object]:
        return [a for n, a in self.calls if n == name]

    def progress_records(self) -> list[ProgressRecord]:
        return [a for a in self.args("record_progress") if isinstance(a, ProgressRecord)]

    def ledger_ends(self) -> list[EndLedgerSession]:
        return [a for a in self.args("end_ledger_session") if isinstance(a, EndLedgerSession)]

    def plans(self) -> list[SessionPlan]:
        return [a for a in self.args("open_ledger") if isinstance(a, SessionPlan)]

    def activities(self) -> list:
        lock = asyncio.Lock()

        @activity.defn(name="study.claim")
        async def claim(req: ClaimStudy) -> ClaimResult:
            async with lock:  # the database's primary key does this for real
                holder = self.slots.setdefault(req.trainee_id, req.enrollment_id)
            self.calls.append(("claim", req.enrollment_id))
            return ClaimResult(ok=holder == req.enrollment_id, holder_enrollment_id=holder)

        @activity.defn(name="study.record_progress")
        async def record_progress(rec: ProgressRecord) -> None:
            self.calls.append(("record_progress", rec))
            if rec.completed_at is not None and self.slots.get(rec.trainee_id) == rec.enrollment_id:
                del self.slots[rec.trainee_id]

        @activity.defn(name="study.open_ledger")
        async def open_ledger(plan: SessionPlan) -> None:
            self.calls.append(("open_ledger", plan))
            self.sessions[plan.session_id] = ledger.open_live(plan)
            self.rows[plan.enrollment_id] = plan.session_id

        @activity.defn(name="study.end_ledger_session")
        async def end_ledger_session(req: EndLedgerSession) -> SessionReport | None:
            """As activities/study.py: None unless the row holds that session; ``force`` ends it,
            else only a passed deadline does."""
            self.calls.append(("end_ledger_session", req))
            if self.rows.get(req.enrollment_id) != req.session_id:
                return None
            live = self.sessions[req.session_id]
            ended = ledger.end(live, req.reason, req.at) if req.force else ledger.expire(live, req.at).live
            self.sessions[req.session_id] = ended
            return ledger.report_of(ended)

        @activity.defn(name="study.swap")
        async def swap(req: SwapCourse) -> SwapResult:
            self.calls.append(("swap", req))
            if req.to_course_id in self.held:
                return SwapResult(ok=False, code="CourseAlreadyHeld")
            return SwapResult(ok=True)

        @activity.defn(name="study.withdraw")
        async def withdraw(enrollment_id: int) -> WithdrawResult:
            self.calls.append(("withdraw", enrollment_id))
            return WithdrawResult(ok=True, order_no="20261128-0001", trade_no="T-1", amount_cents=1000)

        @activity.defn(name="orders.refund")
        async def refund(req: RefundRequest) -> RefundDone:
            self.calls.append(("refund", req))
            return RefundDone(req.refund_no, req.amount_cents, "2026-11-28T00:00:00+00:00")

        @activity.defn(name="certificates.issue")
        async def issue(req: CertificateRequest) -> None:
            self.calls.append(("certificate", req.enrollment_id))

        @activity.defn(name="hours.push_platform")
        async def push_platform(req: PlatformHours) -> int:
            self.calls.append(("hours", req.enrollment_id))
            return 1

        return [claim, record_progress, open_ledger, end_ledger_session, swap, withdraw, refund, issue, push_platform]


@dataclass
class Played:
    """What the page gets back from one call: the view, the refusal code, and the workflow's answer
    when the call completed the chapter."""

    view: SessionView
    refusal: str | None = None
    answer: ReportAnswer | None = None


@dataclass
class Page:
    """One player page, as the web layer serves it: every call applies a ledger rule to the session's
    row at the server's current time; the step that ends the session reports it, once."""

    env: WorkflowEnvironment
    side: FakeStudySide
    handle: WorkflowHandle
    view: SessionView

    @property
    def session_id(self) -> str:
        return self.view.session_id

    @property
    def live(self) -> LiveSession:
        return self.side.sessions[self.session_id]

    async def beat(self, claimed: float, hidden: bool = False, report: bool = True) -> Played:
        """``report`` off: the web layer's report of the session's end is still on its way."""
        return await self._apply(
            lambda live, now: ledger.beat(live, now=now, claimed=claimed, hidden=hidden), report=report
        )

    async def answer(self, text: str) -> Played:
        return await self._apply(lambda live, now: ledger.answer(live, now=now, text=text))

    async def close(self, claimed: float) -> Played:
        return await self._apply(lambda live, now: ledger.close(live, now=now, claimed=claimed))

    async def sweep(self) -> Played:
        """The web's sweeper: a session whose deadline passed ends (and is reported)."""
        return await self._apply(lambda live, now: ledger.expire(live, now))

    async def _apply(self, rule: Callable[[LiveSession, float], ledger.Step], report: bool = True) -> Played:
        now = await server_now(self.env)
        before = self.live
        step = rule(before, now)
        self.side.sessions[self.session_id] = step.live
        played = Played(ledger.view_of(step.live, now), step.refusal)
        if report and before.ended is None and step.live.ended is not None:
            played.answer = await self._report(ledger.report_of(step.live))
        return played

    async def _report(self, rep: SessionReport) -> ReportAnswer | None:
        """The web layer's one report of a session's end: the page that completes the course waits
        for the workflow's answer; any other end goes by Signal (the test waits until the workflow
        has written it: a query now could meet the run continuing as new, which locks the test
        server's clock)."""
        if rep.reason == EndReason.CHAPTER_DONE and self.live.plan.completes_course:
            return await self.handle.execute_update(StudyWorkflow.report_session, rep)
        written = len(self.side.progress_records())
        await self.handle.signal(StudyWorkflow.session_ended, rep)
        await until(lambda: _true(len(self.side.progress_records()) > written))
        return None


async def taken(h: WorkflowHandle, session_id: str) -> bool:
    return (await progress(h)).session_id != session_id


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _true(value: bool) -> bool:
    return value


async def server_now(env: WorkflowEnvironment) -> float:
    return (await env.get_current_time()).timestamp()


def course(course_id: int = 10, major: int = 1, hours: str = "1", durations: tuple[int, ...] = (60, 90)) -> CourseRef:
    chapters = [ChapterSpec(100 + i, i, f"第{i}讲", d) for i, d in enumerate(durations, start=1)]
    return CourseRef(course_id, 1, major, hours, chapters)


def rules(**kw: float) -> StudyRules:
    base: dict[str, float] = {"captcha_min_seconds": 10_000, "captcha_max_seconds": 10_000}
    base.update(kw)
    return StudyRules(**base)  # type: ignore[arg-type]


@pytest.fixture
def env(time_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return time_env


@pytest.fixture
async def side(env: WorkflowEnvironment) -> AsyncIterator[FakeStudySide]:
    fake = FakeStudySide()
    async with Worker(
        env.client, task_queue=QUEUE, workflows=[StudyWorkflow, RefundWorkflow], activities=fake.activities()
    ):
        yield fake
        # a workflow left waiting without a worker would stall the next test's clock
        for handle in fake.handles:
            with contextlib.suppress(RPCError):
                await env.client.get_workflow_handle(handle.id).terminate("test over")


@pytest.fixture
async def dev_side(temporal_client: Client) -> AsyncIterator[FakeStudySide]:
    """The same fakes on the local dev server: for the refund child workflow, which leaves the
    time-skipping test server's clock locked (seen with temporal-test-server 1.40)."""
    fake = FakeStudySide()
    async with Worker(
        temporal_client, task_queue=QUEUE, workflows=[StudyWorkflow, RefundWorkflow], activities=fake.activities()
    ):
        yield fake


async def start(
    side: FakeStudySide,
    client: Client,
    study_rules: StudyRules | None = None,
    ref: CourseRef | None = None,
    trainee: int = TRAINEE,
) -> tuple[WorkflowHandle, int]:
    eid = random.randint(10**6, 10**9)
    inp = StudyInput(eid, trainee, 1, 2026, ref or course(), study_rules or rules())
    handle = await client.start_workflow(StudyWorkflow.run, inp, id=f"study-{eid}", task_queue=QUEUE)
    side.handles.append(handle)
    return handle, eid


async def open_(h: WorkflowHandle, chapter: int = CH1, trainee: int = TRAINEE) -> SessionView:
    return await h.execute_update(StudyWorkflow.open_session, OpenSession(trainee, chapter))


async def open_page(env: WorkflowEnvironment, side: FakeStudySide, h: WorkflowHandle, chapter: int = CH1) -> Page:
    return Page(env, side, h, await open_(h, chapter))


def refusal(err: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> str:
    cause = err.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.type or ""


async def progress(h: WorkflowHandle) -> StudyProgress:
    return await h.query(StudyWorkflow.progress)


async def credited(h: WorkflowHandle, chapter: int = CH1) -> float:
    return next(c.credited for c in (await progress(h)).chapters if c.chapter_id == chapter)


async def sleep(env: WorkflowEnvironment, seconds: float) -> None:
    await env.sleep(timedelta(seconds=seconds))


# ---- credit -------------------------------------------------------------------------------------


async def test_credit_follows_the_clock_and_a_seek_is_refused(env, side) -> None:
    h, _ = await start(side, env.client)
    page = await open_page(env, side, h)
    assert page.view.position == 0 and page.view.duration == 60
    await sleep(env, 20)
    assert (await page.beat(20)).view.position == 20
    await sleep(env, 10)
    seek = await page.beat(55)  # dragged ahead: 35 s claimed after 10 s
    assert seek.refusal == "SeekNotAllowed" and seek.view.position == 20  # the player is put back there
    assert (await page.beat(30)).view.position == 30
    # paused for two minutes (heartbeats keep coming): the pause is not study time
    for _ in range(4):
        await sleep(env, 30)
        assert (await page.beat(30)).view.position == 30
    assert await credited(h) == 0  # heartbeats never reach the workflow
    await page.close(30)
    assert await credited(h) == 30
    assert side.progress_records()[-1].credited_seconds == 30


async def test_a_forged_report_gets_no_more_than_the_workflows_clock_allows(env, side) -> None:
    h, _ = await start(side, env.client)
    page = await open_page(env, side, h)
    await sleep(env, 10)
    forged = SessionReport(
        page.session_id, CH1, credited=60, passed=0, reason=EndReason.CHAPTER_DONE, at=await server_now(env)
    )
    answer = await h.execute_update(StudyWorkflow.report_session, forged)
    assert answer == ReportAnswer(course_done=False)
    got = await credited(h)
    assert got == pytest.approx(10 + StudyRules().heartbeat_tolerance_seconds, abs=1)  # the clock's 10 s + 5
    prog = await progress(h)
    assert not prog.chapters[0].done and prog.chapters[0].open and prog.session_id is None
    assert side.progress_records()[-1].credited_seconds == int(got)


async def test_a_report_without_a_session_is_refused(env, side) -> None:
    h, _ = await start(side, env.client)
    await open_(h)
    for bad in (SessionReport("", CH1, 60, 0, EndReason.CHAPTER_DONE, 0.0), SessionReport("s", CH1, 60, 0, "", 0.0)):
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(StudyWorkflow.report_session, bad)
        assert refusal(err) == "NotFound"
    assert await credited(h) == 0 and "record_progress" not in side.names()


# ---- chapters -----------------------------------------------------------------------------------


async def test_chapters_open_in_order(env, side) -> None:
    h, _ = await start(side, env.client)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await open_(h, CH2)
    assert refusal(err) == "ChapterLocked"
    page = await open_page(env, side, h)
    await sleep(env, 30)
    assert (await page.beat(30)).answer is None
    await sleep(env, 30)
    done = await page.beat(60)
    assert done.view.chapter_done and not done.view.course_done
    assert (await page.beat(60)).refusal == "SessionEnded"  # the chapter's session is over
    prog = await progress(h)
    assert prog.chapters[0].done and prog.chapters[1].open and prog.credited_total == 60
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await open_(h, CH1)
    assert refusal(err) == "ChapterDone"
    v2 = await open_(h, CH2)
    assert v2.chapter_id == CH2 and v2.position == 0 and v2.duration == 90


async def test_the_next_chapter_opens_while_the_completed_ones_report_is_on_its_way(env, side) -> None:
    h, _ = await start(side, env.client)
    page = await open_page(env, side, h)
    assert not page.live.plan.completes_course  # the course has a second chapter
    await sleep(env, 60)
    done = await page.beat(60, report=False)  # answered from the ledger; the report not yet heard
    assert done.view.chapter_done and done.answer is None
    v2 = await open_(h, CH2)  # the workflow collects the ended session from the ledger first
    assert v2.chapter_id == CH2 and v2.position == 0
    assert side.plans()[-1].completes_course  # every other chapter is done
    prog = await progress(h)
    assert prog.chapters[0].done and prog.chapters[0].credited == 60 and prog.session_id == v2.session_id
    # the report arriving late changes nothing
    await h.signal(StudyWorkflow.session_ended, ledger.report_of(page.live))
    assert (await progress(h)).credited_total == 60 and (await progress(h)).session_id == v2.session_id


async def test_a_later_chapter_is_still_locked_while_a_session_plays(env, side) -> None:
    h, _ = await start(side, env.client)
    page = await open_page(env, side, h)
    await sleep(env, 20)
    await page.beat(20, report=False)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await open_(h, CH2)  # admitted (the session might have completed it), refused once collected
    assert refusal(err) == "ChapterLocked"
    assert await credited(h) == 20  # the collected session's credit counts


# ---- captchas -----------------------------------------------------------------------------------


async def test_the_plan_puts_captchas_10_to_20_minutes_of_playback_apart(env, side) -> None:
    h, _ = await start(side, env.client, StudyRules(), ref=course(durations=(3600,)))
    view = await open_(h)
    plan = side.plans()[-1]
    moments = [c.at for c in plan.captchas]
    assert 600 <= moments[0] <= 1200 and view.check_in == moments[0]
    assert all(600 <= b - a <= 1200 for a, b in zip(moments, moments[1:], strict=False))
    assert moments[-1] >= 3600 and all(m < 3600 for m in moments[:-1])
    for c in plan.captchas:
        assert len(c.texts) == StudyRules().captcha_max_wrong
        assert all(len(t) == CAPTCHA_LENGTH and set(t) <= set(CAPTCHA_ALPHABET) for t in c.texts)
    assert (plan.tolerance, plan.captcha_timeout, plan.idle_end) == (5, 90, 300)


async def test_an_unanswered_captcha_ends_the_session_and_the_next_starts_with_one(env, side) -> None:
    h, _ = await start(
        side, env.client, rules(captcha_min_seconds=20, captcha_max_seconds=20, captcha_timeout_seconds=90)
    )
    page = await open_page(env, side, h)
    assert page.view.check_in == 20
    await sleep(env, 25)
    played = await page.beat(25)
    assert played.view.position == 20 and played.view.captcha_serial is not None  # credit stops at the check
    first = played.view.captcha_serial
    wrong = await page.answer("2222" if page.live.captcha_text != "2222" else "3333")
    assert wrong.refusal is None and wrong.view.captcha_serial not in (None, first)  # a new image
    right = await page.answer((page.live.captcha_text or "").lower())
    assert right.view.captcha_serial is None and right.view.check_in == 20
    await sleep(env, 20)
    played = await page.beat(40)
    assert played.view.position == 40 and played.view.captcha_expires_in == 90  # the next check
    await sleep(env, 89)
    assert (await page.sweep()).refusal is None  # still waiting
    await sleep(env, 2)
    assert (await page.sweep()).refusal == "CaptchaTimeout"  # reported by Signal
    assert await credited(h) == 40 and side.progress_records()[-1].credited_seconds == 40
    assert (await page.beat(40)).refusal == "CaptchaTimeout"
    nxt = await open_(h)
    assert nxt.position == 40 and nxt.captcha_serial is not None  # manual: 后面正确输入验证码即可
    assert nxt.captcha_serial not in (first, played.view.captcha_serial)
    await record(h, "study_captcha_timeout")


async def test_too_many_wrong_answers_end_the_session_and_the_next_starts_with_a_captcha(env, side) -> None:
    h, _ = await start(side, env.client, rules(captcha_min_seconds=20, captcha_max_seconds=20, captcha_max_wrong=3))
    page = await open_page(env, side, h)
    await sleep(env, 20)
    assert (await page.beat(20)).view.captcha_serial is not None
    for _ in range(2):
        assert (await page.answer("????")).refusal is None
    assert (await page.answer("????")).refusal == "CaptchaTooManyWrong"
    assert await credited(h) == 20
    page2 = await open_page(env, side, h)
    assert page2.view.position == 20 and page2.view.captcha_serial is not None
    assert (await page2.answer(page2.live.captcha_text or "")).view.check_in == 20


# ---- the end of a session -----------------------------------------------------------------------


async def test_a_second_tab_ends_the_first_and_counts_its_credit(env, side) -> None:
    h, eid = await start(side, env.client)
    first = await open_page(env, side, h)
    await sleep(env, 10)
    await first.beat(10)
    second = await open_page(env, side, h)
    assert second.view.position == 10 and await credited(h) == 10
    assert side.ledger_ends()[-1] == EndLedgerSession(
        eid, first.session_id, EndReason.REPLACED, side.ledger_ends()[-1].at, force=True
    )
    assert first.live.ended == EndReason.REPLACED and side.rows[eid] == second.session_id
    assert (await first.beat(10)).refusal == "SessionReplaced"
    assert (await progress(h)).session_id == second.session_id
    await sleep(env, 10)
    assert (await second.beat(20)).view.position == 20


async def test_closing_the_page_keeps_the_credit(env, side) -> None:
    h, _ = await start(side, env.client)
    page = await open_page(env, side, h)
    await sleep(env, 30)
    await page.beat(30)
    await sleep(env, 10)
    closed = await page.close(40)  # its last heartbeat counts
    assert closed.refusal is None and page.live.ended == EndReason.PAGE_CLOSED
    assert await credited(h) == 40 and (await progress(h)).session_id is None
    assert side.progress_records()[-1].credited_seconds == 40
    assert (await open_(h)).position == 40  # reopening resumes there


async def test_a_silent_page_ends_after_the_idle_time_and_keeps_the_credit(env, side) -> None:
    h, _ = await start(side, env.client, rules(idle_end_seconds=300))
    page = await open_page(env, side, h)
    await sleep(env, 30)
    await page.beat(30)
    await sleep(env, 299)
    assert (await page.sweep()).refusal is None
    await sleep(env, 2)
    assert (await page.sweep()).refusal == "SessionEnded"
    assert page.live.ended == EndReason.IDLE
    assert await credited(h) == 30 and side.progress_records()[-1].credited_seconds == 30
    assert (await page.beat(30)).refusal == "SessionEnded"
    assert (await open_(h)).position == 30


async def test_a_repeated_report_changes_nothing(env, side) -> None:
    h, _ = await start(side, env.client)
    page = await open_page(env, side, h)
    await sleep(env, 20)
    await page.close(20)
    assert len(side.progress_records()) == 1
    rep = ledger.report_of(page.live)
    await h.signal(StudyWorkflow.session_ended, rep)  # the sweeper, again
    assert await h.execute_update(StudyWorkflow.report_session, rep) == ReportAnswer(course_done=False)
    assert await credited(h) == 20 and len(side.progress_records()) == 1
    # a later session: the old one's report (even one claiming more) is not counted into it
    page2 = await open_page(env, side, h)
    await h.signal(StudyWorkflow.session_ended, SessionReport(page.session_id, CH1, 60, 0, EndReason.IDLE, 0.0))
    await sleep(env, 10)
    await page2.beat(30)
    assert (await progress(h)).session_id == page2.session_id and await credited(h) == 20
    assert len(side.progress_records()) == 1


async def test_last_chapter_completes_the_course_issues_certificate_and_pushes_hours(env, side) -> None:
    h, eid = await start(side, env.client, ref=course(durations=(30, 30)))
    played = []
    for chapter in (CH1, CH2):
        page = await open_page(env, side, h, chapter)
        await sleep(env, 30)
        played.append(await page.beat(30))
    assert [p.view.chapter_done for p in played] == [True, True]
    # the page is told from the plan; the course's last chapter also waits for the workflow's answer
    assert [p.view.course_done for p in played] == [False, True]
    assert played[-1].answer == ReportAnswer(course_done=True)
    assert await h.result() == "completed"
    assert side.args("certificate") == [eid] and side.args("hours") == [eid]
    last = side.progress_records()[-1]
    assert last.completed_at is not None and last.credited_seconds == 60
    assert [c.completed for c in last.chapters] == [True, True]
    assert TRAINEE not in side.slots  # the one-course slot is free again
    await record(h, "study_completed")


async def test_one_course_at_a_time_under_concurrent_first_sessions(env, side) -> None:
    trainee = random.randint(1000, 10**6)
    (a, _), (b, _) = await start(side, env.client, trainee=trainee), await start(side, env.client, trainee=trainee)
    results = await asyncio.gather(open_(a, trainee=trainee), open_(b, trainee=trainee), return_exceptions=True)
    refused = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(refused) == 1 and sum(isinstance(r, SessionView) for r in results) == 1
    cause = refused[0].cause
    assert isinstance(cause, ApplicationError) and cause.type == "OneCourseAtATime"
    assert cause.message == "需在一个课程全部学完后，再进行下一个课程的学习"
    assert len(side.plans()) == 1  # the refused one put nothing into the ledger


# ---- the backstop -------------------------------------------------------------------------------


async def test_the_backstop_leaves_a_playing_session_and_takes_an_expired_one(env, side) -> None:
    h, eid = await start(
        side, env.client, rules(backstop_seconds=60, idle_end_seconds=300), ref=course(durations=(600,))
    )
    page = await open_page(env, side, h)
    await sleep(env, 30)
    await page.beat(30)
    await sleep(env, 40)  # the backstop at 60 s: the ledger says it still plays
    await until(lambda: _true(len(side.ledger_ends()) >= 1))
    asked = side.ledger_ends()[0]
    assert asked.session_id == page.session_id and not asked.force and asked.enrollment_id == eid
    assert page.live.ended is None and (await progress(h)).session_id == page.session_id
    assert side.progress_records() == []
    assert (await page.beat(70)).view.position == 70
    await sleep(env, 400)  # no heartbeat, no sweeper: the page went silent at 70 s (idle end 370 s)
    await until(lambda: taken(h, page.session_id))
    assert page.live.ended == EndReason.IDLE
    assert await credited(h) == 70 and side.progress_records()[-1].credited_seconds == 70
    assert (await page.beat(70)).refusal == "SessionEnded"


async def test_the_backstop_forgets_a_session_the_ledger_no_longer_holds(env, side) -> None:
    h, eid = await start(side, env.client, rules(backstop_seconds=60))
    page = await open_page(env, side, h)
    await sleep(env, 30)
    await page.beat(30)
    del side.rows[eid]  # the row holds another session or none
    await sleep(env, 40)
    await until(lambda: taken(h, page.session_id))
    assert await credited(h) == 0 and side.progress_records() == []
    assert (await open_(h)).position == 0


# ---- swap and withdraw --------------------------------------------------------------------------


async def test_swap_only_same_major_and_hours_and_only_unstudied(env, side) -> None:
    h, _ = await start(side, env.client)
    for bad, code in (
        (course(11, major=2), "SwapSameMajorAndHours"),
        (course(11, hours="2"), "SwapSameMajorAndHours"),
        (course(10), "CourseAlreadyHeld"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(StudyWorkflow.swap, SwapRequest(TRAINEE, bad))
        assert refusal(err) == code
    side.held.add(12)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(StudyWorkflow.swap, SwapRequest(TRAINEE, course(12)))
    assert refusal(err) == "CourseAlreadyHeld"
    assert await h.execute_update(StudyWorkflow.swap, SwapRequest(TRAINEE, course(11, durations=(45,)))) == "swapped"
    prog = await progress(h)
    assert prog.course_id == 11 and [c.duration for c in prog.chapters] == [45]
    v = await open_(h, CH1)  # chapter 101 of the new course
    assert v.duration == 45 and side.plans()[-1].duration == 45
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(StudyWorkflow.swap, SwapRequest(TRAINEE, course(13, durations=(45,))))
    assert refusal(err) == "SwapOnlyUnstudied"
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(StudyWorkflow.withdraw, WithdrawRequest(TRAINEE))
    assert refusal(err) == "WithdrawOnlyUnstudied"


async def test_withdraw_pressed_twice_refunds_once(temporal_client, dev_side) -> None:
    side, client = dev_side, temporal_client
    h, eid = await start(side, client)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(StudyWorkflow.withdraw, WithdrawRequest(TRAINEE + 1))
    assert refusal(err) == "NotFound"  # not this trainee's
    both = await asyncio.gather(
        h.execute_update(StudyWorkflow.withdraw, WithdrawRequest(TRAINEE)),
        h.execute_update(StudyWorkflow.withdraw, WithdrawRequest(TRAINEE)),
    )
    assert both == ["withdrawn", "withdrawn"]
    assert await h.result() == "withdrawn"
    refund = client.get_workflow_handle(f"refund-{eid}")
    done = await refund.result()
    assert done["refund_no"] == f"W-{eid}"
    requests = side.args("refund")
    assert len(requests) == 1 and side.names().count("withdraw") == 1
    req = requests[0]
    assert isinstance(req, RefundRequest) and req.reason == "withdraw" and req.amount_cents == 1000
    await record(h, "study_withdrawn")
    await record(refund, "refund_done")


# ---- continue-as-new ----------------------------------------------------------------------------


async def test_long_history_continues_as_new_with_its_progress(env, side) -> None:
    h, _ = await start(side, env.client, rules(continue_after_events=10))
    page = await open_page(env, side, h)
    for pos in (10, 20, 30):
        await sleep(env, 10)
        await page.beat(pos)
    first_run = (await h.describe()).run_id
    latest = env.client.get_workflow_handle(h.id)
    await sleep(env, 5)
    await page.close(30)  # the session ends; the run continues as new
    await until(lambda: _new_run(latest, first_run))
    prog = await progress(latest)
    assert prog.chapters[0].credited == 30 and prog.history_events > 10 and prog.session_id is None
    page2 = await open_page(env, side, latest)
    assert page2.view.position == 30
    await sleep(env, 30)
    assert (await page2.beat(60)).view.chapter_done
    assert (await progress(latest)).chapters[0].done
    await record(latest, "study_continued_as_new")


async def _new_run(h: WorkflowHandle, first_run: str | None) -> bool:
    return (await h.describe()).run_id != first_run
