"""Study at scale through HTTP with the real worker and database: heartbeats advance the ledger and
never reach Temporal; the presence rules (a hidden page earns nothing, a second device takes over,
a closed page keeps its credit); the sweeper ends silent sessions and re-sends what the workflow
missed; a worker outage refuses no heartbeat and loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

import api.routers.study
import api.study_ledger
from db import study_ledger
from db.models.study import ChapterProgress
from tests.api.test_study import beat, chapter_ids, post_json
from tests.support import enter_school, eventually, login_trainee, make_trainee
from tests.support.study import enroll, ensure_test_clip, make_test_course, patched
from worker import build_worker
from workflows.study import StudyWorkflow, study_workflow_id


async def opened(client: Any, sessionmaker, durations: tuple[int, ...] = (60,)) -> tuple[int, int, dict]:
    course_id = await make_test_course(sessionmaker, durations=durations)
    eid = await enroll(sessionmaker, client.user.id, course_id)
    [ch, *_] = await chapter_ids(sessionmaker, course_id)
    resp = await post_json(client, f"/study/{eid}/chapters/{ch}/open")
    assert resp.status_code == 200, resp.text
    return eid, ch, resp.json()


async def ledger_credit(sessionmaker, eid: int) -> float:
    async with sessionmaker() as s:
        row = await study_ledger.read(s, eid)
    assert row is not None
    return row.live.credited


async def workflow_credit(temporal_client, eid: int) -> float:
    prog = await temporal_client.get_workflow_handle(study_workflow_id(eid)).query(StudyWorkflow.progress)
    return prog.chapters[0].credited


async def test_a_heartbeat_is_one_read_and_one_write_and_no_sign_in_query(trainee_client, sessionmaker, app) -> None:
    client = trainee_client
    eid, ch, view = await opened(client, sessionmaker)
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()[:2]))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        await asyncio.sleep(1.0)
        resp = await beat(client, eid, view, ch, 1.0)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert resp.status_code == 200 and resp.json()["position"] == pytest.approx(1.0, abs=0.2)
    # the ledger row, read once and written once; no read of the users table for the sign-in
    # (other statements are the app's background rounds: the simulator's notifier, the sweeper)
    assert [s for s in statements if "users" in s or s.startswith("UPDATE")] == ["UPDATE study_ledger"]
    assert statements.count("SELECT study_ledger.trainee_id,") == 1


async def test_a_hidden_page_earns_nothing_until_it_is_shown_again(trainee_client, sessionmaker) -> None:
    client = trainee_client
    eid, ch, view = await opened(client, sessionmaker)
    await asyncio.sleep(1.0)
    hidden = await post_json(
        client,
        f"/study/{eid}/heartbeat",
        {"session_id": view["session_id"], "chapter_id": ch, "position": 1.0, "hidden": True},
    )
    assert hidden.status_code == 200 and hidden.json()["paused"] is True
    credited = hidden.json()["position"]
    assert credited == pytest.approx(1.0, abs=0.2)  # played until the page was hidden: counted
    await asyncio.sleep(1.5)
    # a player that kept counting while hidden claims more: nothing of the hidden time is credited
    shown = await beat(client, eid, view, ch, credited + 1.5)
    assert shown.status_code == 200 and shown.json()["position"] == pytest.approx(credited)
    assert shown.json()["paused"] is False
    await asyncio.sleep(1.0)
    playing = await beat(client, eid, view, ch, credited + 1.0)
    assert playing.json()["position"] == pytest.approx(credited + 1.0, abs=0.2)  # counts again once shown


async def test_a_second_device_takes_over_and_the_first_page_is_told(
    trainee_client, sessionmaker, app, temporal_client
) -> None:
    first = trainee_client
    eid, ch, view = await opened(first, sessionmaker)
    await asyncio.sleep(1.0)
    assert (await beat(first, eid, view, ch, 1.0)).status_code == 200
    # the same trainee on another device (its own cookies)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as second:
        await second.get("/login")
        await login_trainee(second, first.user)
        await enter_school(second)
        taken = await post_json(second, f"/study/{eid}/chapters/{ch}/open")
        assert taken.status_code == 200
        assert taken.json()["session_id"] != view["session_id"]
        assert taken.json()["position"] == pytest.approx(1.0, abs=0.2)  # the first device's credit counted
    told = await beat(first, eid, view, ch, 2.0)
    assert told.status_code == 409
    assert told.json()["code"] == "SessionReplaced" and told.json()["ended"] is True
    assert told.json()["message"].startswith("您已在其他页面或设备上继续学习")
    assert await workflow_credit(temporal_client, eid) == pytest.approx(1.0, abs=0.2)


async def test_closing_the_page_keeps_its_credit(trainee_client, sessionmaker, temporal_client) -> None:
    client = trainee_client
    eid, ch, view = await opened(client, sessionmaker)
    await asyncio.sleep(1.0)
    closing = await post_json(
        client,
        f"/study/{eid}/heartbeat",
        {"session_id": view["session_id"], "chapter_id": ch, "position": 1.0, "hidden": True, "closing": True},
    )
    assert closing.status_code == 200
    late = await beat(client, eid, view, ch, 1.5)
    assert late.status_code == 409 and late.json()["code"] == "SessionEnded"
    # the workflow heard the end (a Signal) and wrote the projection: 我的课程 shows the credit
    assert await eventually(lambda: workflow_credit(temporal_client, eid)) == pytest.approx(1.0, abs=0.2)

    async def projected() -> int:
        async with sessionmaker() as s:
            query = select(ChapterProgress.credited_seconds).where(ChapterProgress.enrollment_id == eid)
            return await s.scalar(query) or 0

    assert await eventually(projected) == 1
    toc = await client.get(f"/study/{eid}")
    assert "学习中" in toc.text and 'title="1%"' in toc.text  # 1 of 60 seconds


async def test_the_sweeper_ends_a_silent_session_and_reports_it(
    trainee_client, sessionmaker, settings, app, temporal_client
) -> None:
    client = trainee_client
    with patched(settings, idle_end_seconds=2):
        eid, ch, view = await opened(client, sessionmaker)
    await asyncio.sleep(1.0)
    assert (await beat(client, eid, view, ch, 1.0)).status_code == 200
    await asyncio.sleep(2.5)  # the page went silent (closed without its last heartbeat)
    await app.state.study_sweeper.sweep()
    async with sessionmaker() as s:
        row = await study_ledger.read(s, eid)
    assert row is not None and row.live.ended == "idle" and not row.report_due
    assert await eventually(lambda: workflow_credit(temporal_client, eid)) == pytest.approx(1.0, abs=0.2)
    late = await beat(client, eid, view, ch, 1.5)
    assert late.status_code == 409 and late.json()["code"] == "SessionEnded"


@pytest.fixture
async def stoppable_worker(settings, sessionmaker, temporal_client) -> AsyncIterator[dict]:
    """An app and a worker of their own task queue, so that the worker can be stopped and started."""
    from api.app import create_app

    own = settings.model_copy(update={"task_queue": "study-outage"})
    application = create_app(own, temporal_client=temporal_client)
    box: dict = {"settings": own, "app": application}
    async with application.router.lifespan_context(application):
        box["worker"] = build_worker(temporal_client, own, sessionmaker)
        yield box
        if box.get("running"):
            await box["worker"].shutdown()


async def test_a_worker_outage_refuses_no_heartbeat_and_loses_nothing(
    stoppable_worker, sessionmaker, temporal_client, monkeypatch
) -> None:
    monkeypatch.setattr(api.study_ledger, "PAGE_DELIVERY_SECONDS", 1.0)
    application, worker = stoppable_worker["app"], stoppable_worker["worker"]
    ensure_test_clip(stoppable_worker["settings"])
    user = await make_trainee(sessionmaker, "停机学员")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://test") as client:
        await client.get("/login")
        await login_trainee(client, user)
        await enter_school(client)
        client.user = user  # type: ignore[attr-defined]
        run = asyncio.create_task(worker.run())
        stoppable_worker["running"] = True
        eid, ch, view = await opened(client, sessionmaker, durations=(3, 60))
        await worker.shutdown()
        run.cancel()
        stoppable_worker["running"] = False

        # the worker is gone: heartbeats are answered all the same, up to the chapter's end
        answers = []
        for position in (1.0, 2.0, 3.0):
            await asyncio.sleep(1.0)
            answers.append(await beat(client, eid, view, ch, position))
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert answers[-1].json()["chapter_done"] is True
        assert answers[-1].json()["course_done"] is False  # a second chapter follows

        # back: the completion is counted (the Signal the page sent waited on the server, or the
        # sweeper sends it again); nothing was lost
        await asyncio.sleep(api.study_ledger.PAGE_DELIVERY_SECONDS + 1.5)
        worker2 = build_worker(temporal_client, stoppable_worker["settings"], sessionmaker)
        async with worker2:
            await application.state.study_sweeper.sweep()

            async def completed() -> bool:
                async with sessionmaker() as s:
                    done = await s.scalar(select(ChapterProgress.completed).where(ChapterProgress.enrollment_id == eid))
                return bool(done)

            assert await eventually(completed)
            assert await workflow_credit(temporal_client, eid) == 3.0


async def test_the_next_chapter_opens_while_the_completed_ones_report_is_on_its_way(
    trainee_client, sessionmaker, temporal_client, monkeypatch
) -> None:
    client = trainee_client
    held: list[int] = []
    # the report of the completed chapter is held back: the page must not need it
    monkeypatch.setattr(api.routers.study, "deliver_later", lambda _c, _m, eid, _r: held.append(eid))
    eid, ch, view = await opened(client, sessionmaker, durations=(2, 60))
    await asyncio.sleep(2.0)
    done = await beat(client, eid, view, ch, 2.0)
    assert done.status_code == 200 and done.json()["chapter_done"] and not done.json()["course_done"]
    assert held == [eid]

    toc = await client.get(f"/study/{eid}")
    assert 'class="done"' in toc.text and 'class="open"' in toc.text  # the first done, the second open
    ch2 = int(toc.text.split('class="open"')[0].rsplit('data-chapter-id="', 1)[1].split('"')[0])
    assert ch2 != ch
    assert (await client.get(f"/study/{eid}/chapters/{ch2}")).status_code == 200
    opened2 = await post_json(client, f"/study/{eid}/chapters/{ch2}/open")
    assert opened2.status_code == 200, opened2.text
    # the workflow took the completed chapter from the ledger when the next one opened
    prog = await temporal_client.get_workflow_handle(study_workflow_id(eid)).query(StudyWorkflow.progress)
    assert prog.chapters[0].done and prog.chapters[0].credited == 2.0 and prog.chapters[1].open
