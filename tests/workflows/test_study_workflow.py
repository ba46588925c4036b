"""StudyWorkflow and RefundWorkflow with fake activities on the time-skipping server, where a test
moves the clock itself (env.sleep): credit follows the clock, seeks are refused, chapters open in
order, captchas (wrong, right, too many wrong, timeout), the idle end, completion, one course at a
time under concurrent first sessions, swap, withdraw with its refund exactly once, continue-as-new.

RECORD_HISTORIES=1 re-records the histories that tests/workflows/test_replay.py replays."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
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

from domain.certificates import CertificateRequest
from domain.hours_records import PlatformHours
from domain.orders import RefundDone, RefundRequest
from domain.study import (
    CaptchaAnswer,
    ChapterSpec,
    ClaimResult,
    ClaimStudy,
    CourseRef,
    Heartbeat,
    OpenSession,
    ProgressRecord,
    SessionView,
    StudyInput,
    StudyRules,
    SwapCourse,
    SwapRequest,
    SwapResult,
    WithdrawRequest,
    WithdrawResult,
)
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
    server holds its clock, and the heartbeat Updates here then time out."""
    async for env in time_skipping_env():
        yield env


@dataclass
class FakeStudySide:
    """Stands in for the database, the provider, certificates and hours; records every call."""

    slots: dict[int, int] = field(default_factory=dict)  # trainee -> enrollment (the one-course slot)
    calls: list[tuple[str, object]] = field(default_factory=list)
    held: set[int] = field(default_factory=set)  # courses the trainee already holds (swap refuses)
    handles: list[WorkflowHandle] = field(default_factory=list)  # terminated after the test

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def args(self, name: str) -> list[object]:
        return [a for n, a in self.calls if n == name]

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

        return [claim, record_progress, swap, withdraw, refund, issue, push_platform]


def course(course_id: int = 10, major: int = 1, hours: str = "1", durations: tuple[int, ...] = (60, 90)) -> CourseRef:
    chapters = [ChapterSpec(100 + i, i, f"第{i}讲", d) for i, d in enumerate(durations, start=1)]
    return CourseRef(course_id, 1, major, hours, chapters)


def rules(**kw: float) -> StudyRules:
    base: dict[str, float] = {"captcha_min_seconds": 10_000, "captcha_max_seconds": 10_000, "flush_seconds": 120}
    base.update(kw)
    return StudyRules(**base)  # type: ignore[arg-type]


@pytest.fixture
def env(time_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return time_env


@pytest.fixture
async def side(env: WorkflowEnvironment) -> AsyncIterator[FakeStudySide]:
    fake = FakeStudySide()
    async with Worker(env.client, task_queue=QUEUE, workflows=[StudyWorkflow, RefundWorkflow],
                      activities=fake.activities()):
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
    async with Worker(temporal_client, task_queue=QUEUE, workflows=[StudyWorkflow, RefundWorkflow],
                      activities=fake.activities()):
        yield fake


async def start(side: FakeStudySide, client: Client, study_rules: StudyRules | None = None,
                ref: CourseRef | None = None, trainee: int = TRAINEE) -> tuple[WorkflowHandle, int]:
    eid = random.randint(10**6, 10**9)
    inp = StudyInput(eid, trainee, 1, 2026, ref or course(), study_rules or rules())
    handle = await client.start_workflow(StudyWorkflow.run, inp, id=f"study-{eid}", task_queue=QUEUE)
    side.handles.append(handle)
    return handle, eid


async def open_(h: WorkflowHandle, chapter: int = CH1, trainee: int = TRAINEE) -> SessionView:
    return await h.execute_update(StudyWorkflow.open_session, OpenSession(trainee, chapter))


async def beat(h: WorkflowHandle, view: SessionView, position: float) -> SessionView:
    return await h.execute_update(StudyWorkflow.heartbeat, Heartbeat(TRAINEE, view.session_id, position))


async def answer(h: WorkflowHandle, view: SessionView, text: str) -> SessionView:
    return await h.execute_update(StudyWorkflow.answer_captcha, CaptchaAnswer(TRAINEE, view.session_id, text))


def refusal(err: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> str:
    cause = err.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.type or ""


async def credited(h: WorkflowHandle, chapter: int = CH1) -> float:
    prog = await h.query(StudyWorkflow.progress)
    return next(c.credited for c in prog.chapters if c.chapter_id == chapter)


async def test_credit_follows_the_clock_and_a_seek_is_refused(env, side) -> None:
    h, _ = await start(side, env.client)
    v = await open_(h)
    assert v.position == 0 and v.duration == 60
    await env.sleep(timedelta(seconds=20))
    v = await beat(h, v, 20)
    assert v.position == 20
    await env.sleep(timedelta(seconds=10))
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await beat(h, v, 55)  # dragged ahead: 35 s claimed after 10 s
    assert refusal(err) == "SeekNotAllowed"
    assert await credited(h) == 20  # nothing credited; the player is put back there
    v = await beat(h, v, 30)
    assert v.position == 30
    # paused for two minutes (heartbeats keep coming): the pause is not study time
    for _ in range(4):
        await env.sleep(timedelta(seconds=30))
        v = await beat(h, v, 30)
    assert v.position == 30


async def test_chapters_open_in_order(env, side) -> None:
    h, _ = await start(side, env.client)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await open_(h, CH2)
    assert refusal(err) == "ChapterLocked"
    v = await open_(h)
    for pos in (30, 60):
        await env.sleep(timedelta(seconds=30))
        v = await beat(h, v, pos)
    assert v.chapter_done and not v.course_done
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await beat(h, v, 60)
    assert refusal(err) == "SessionEnded"  # the chapter's session is over
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await open_(h, CH1)
    assert refusal(err) == "ChapterDone"
    v2 = await open_(h, CH2)
    assert v2.chapter_id == CH2 and v2.position == 0


async def test_captcha_wrong_right_and_too_many_wrong(env, side) -> None:
    h, _ = await start(side, env.client, rules(captcha_min_seconds=20, captcha_max_seconds=20, captcha_max_wrong=3))
    v = await open_(h)
    assert v.check_in == 20
    await env.sleep(timedelta(seconds=25))
    v = await beat(h, v, 25)
    assert v.position == 20 and v.captcha_serial is not None  # credit stops at the check
    first = v.captcha_serial
    await env.sleep(timedelta(seconds=10))
    v = await beat(h, v, 25)
    assert v.position == 20 and v.captcha_serial == first  # nothing credited while it waits

    pending = await h.query(StudyWorkflow.captcha, TRAINEE)
    assert pending is not None and await h.query(StudyWorkflow.captcha, TRAINEE + 1) is None
    wrong = "2222" if pending.text != "2222" else "3333"
    v = await answer(h, v, wrong)
    assert v.wrong and v.captcha_serial != first  # a new image
    pending = await h.query(StudyWorkflow.captcha, TRAINEE)
    assert pending is not None
    v = await answer(h, v, pending.text.lower())
    assert v.captcha_serial is None and v.check_in == 20
    await env.sleep(timedelta(seconds=20))
    v = await beat(h, v, 40)
    assert v.position == 40 and v.captcha_serial is not None  # the next check, 20 s of playback later

    for _ in range(2):
        v = await answer(h, v, wrong)
        assert v.wrong and v.ended is None
    v = await answer(h, v, wrong)
    assert v.ended == "CaptchaTooManyWrong"
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await beat(h, v, 40)
    assert refusal(err) == "CaptchaTooManyWrong"
    # reopening continues from the credit, and starts with a captcha (manual: 后面正确输入验证码即可)
    v = await open_(h)
    assert v.position == 40 and v.captcha_serial is not None


async def test_unanswered_captcha_ends_the_session_and_keeps_the_credit(env, side) -> None:
    h, eid = await start(side, env.client, rules(captcha_min_seconds=20, captcha_max_seconds=20,
                                           captcha_timeout_seconds=90))
    v = await open_(h)
    await env.sleep(timedelta(seconds=20))
    v = await beat(h, v, 20)
    assert v.captcha_serial is not None and v.captcha_expires_in == 90
    await env.sleep(timedelta(seconds=89))
    v = await beat(h, v, 20)
    assert v.captcha_serial is not None  # still waiting
    await env.sleep(timedelta(seconds=2))
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await beat(h, v, 20)
    assert refusal(err) == "CaptchaTimeout"
    flushed = side.args("record_progress")
    assert flushed and flushed[-1].credited_seconds == 20
    v = await open_(h)
    assert v.position == 20 and v.captcha_serial is not None
    await record(h, "study_captcha_timeout")


async def test_a_closed_page_ends_the_session_after_the_idle_time(env, side) -> None:
    h, _ = await start(side, env.client, rules(idle_end_seconds=300))
    v = await open_(h)
    await env.sleep(timedelta(seconds=30))
    v = await beat(h, v, 30)
    await env.sleep(timedelta(seconds=301))
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await beat(h, v, 30)
    assert refusal(err) == "SessionEnded"
    assert side.args("record_progress")[-1].credited_seconds == 30
    assert (await h.query(StudyWorkflow.progress)).session_id is None
    v = await open_(h)
    assert v.position == 30  # reopening resumes there


async def test_a_second_tab_replaces_the_first(env, side) -> None:
    h, _ = await start(side, env.client)
    first = await open_(h)
    second = await open_(h)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await beat(h, first, 0)
    assert refusal(err) == "SessionReplaced"
    await env.sleep(timedelta(seconds=10))
    assert (await beat(h, second, 10)).position == 10


async def test_last_chapter_completes_the_course_issues_certificate_and_pushes_hours(env, side) -> None:
    h, eid = await start(side, env.client, ref=course(durations=(30, 30)))
    for chapter in (CH1, CH2):
        v = await open_(h, chapter)
        await env.sleep(timedelta(seconds=30))
        v = await beat(h, v, 30)
        assert v.chapter_done
    assert v.course_done
    assert await h.result() == "completed"
    assert side.args("certificate") == [eid] and side.args("hours") == [eid]
    last = side.args("record_progress")[-1]
    assert last.completed_at is not None and last.credited_seconds == 60
    assert TRAINEE not in side.slots  # the one-course slot is free again
    await record(h, "study_completed")


async def test_one_course_at_a_time_under_concurrent_first_sessions(env, side) -> None:
    trainee = random.randint(1000, 10**6)
    (a, _), (b, _) = await start(side, env.client, trainee=trainee), await start(side, env.client, trainee=trainee)
    results = await asyncio.gather(open_(a, trainee=trainee), open_(b, trainee=trainee), return_exceptions=True)
    refused = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(refused) == 1
    cause = refused[0].cause
    assert isinstance(cause, ApplicationError) and cause.type == "OneCourseAtATime"
    assert cause.message == "需在一个课程全部学完后，再进行下一个课程的学习"


async def test_swap_only_same_major_and_hours_and_only_unstudied(env, side) -> None:
    h, _ = await start(side, env.client)
    for bad, code in ((course(11, major=2), "SwapSameMajorAndHours"), (course(11, hours="2"), "SwapSameMajorAndHours"),
                      (course(10), "CourseAlreadyHeld")):
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(StudyWorkflow.swap, SwapRequest(TRAINEE, bad))
        assert refusal(err) == code
    side.held.add(12)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(StudyWorkflow.swap, SwapRequest(TRAINEE, course(12)))
    assert refusal(err) == "CourseAlreadyHeld"
    assert await h.execute_update(StudyWorkflow.swap, SwapRequest(TRAINEE, course(11, durations=(45,)))) == "swapped"
    prog = await h.query(StudyWorkflow.progress)
    assert prog.course_id == 11 and [c.duration for c in prog.chapters] == [45]
    v = await open_(h, CH1)  # chapter 101 of the new course
    assert v.duration == 45
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


async def test_long_history_continues_as_new_with_its_progress(env, side) -> None:
    h, _ = await start(side, env.client, rules(continue_after_events=20, idle_end_seconds=60))
    v = await open_(h)
    for pos in (10, 20, 30):
        await env.sleep(timedelta(seconds=10))
        v = await beat(h, v, pos)
    first_run = (await h.describe()).run_id
    await env.sleep(timedelta(seconds=61))  # the session ends; the run continues as new
    latest = env.client.get_workflow_handle(h.id)
    assert (await latest.describe()).run_id != first_run
    prog = await latest.query(StudyWorkflow.progress)
    assert prog.chapters[0].credited == 30 and prog.history_events > 20
    v = await open_(latest)
    assert v.position == 30
    await env.sleep(timedelta(seconds=30))
    assert (await beat(latest, v, 60)).chapter_done
    await record(latest, "study_continued_as_new")
