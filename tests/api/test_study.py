"""课程学习 through HTTP with the real worker and database: table of contents, chapter order, the
player's heartbeats (seek refused), the captcha endpoints, completion (certificate + pushed hours),
one course at a time against two simultaneous first sessions."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowExecutionStatus

from db.models.catalog import Chapter
from db.models.certificates import Certificate
from db.models.hours import HoursRecord
from db.models.orders import Enrollment
from db.models.study import ActiveStudy, ChapterProgress
from tests.support import csrf, eventually, htmx, login_trainee, make_trainee
from tests.support.study import enroll, make_test_course, patched


async def chapter_ids(maker, course_id: int) -> list[int]:
    async with maker() as s:
        query = select(Chapter.id).where(Chapter.course_id == course_id).order_by(Chapter.seq)
        return list((await s.scalars(query)).all())


async def post_json(client: httpx.AsyncClient, url: str, body: dict | None = None) -> httpx.Response:
    return await client.post(url, json=body or {}, headers=csrf(client))


async def beat(client: httpx.AsyncClient, eid: int, view: dict, chapter: int, position: float) -> httpx.Response:
    return await post_json(
        client,
        f"/study/{eid}/heartbeat",
        {"session_id": view["session_id"], "chapter_id": chapter, "position": position},
    )


async def test_study_a_short_course_in_order_to_completion(trainee_client, sessionmaker, temporal_client) -> None:
    client = trainee_client
    course_id = await make_test_course(sessionmaker, durations=(3, 3))
    eid = await enroll(sessionmaker, client.user.id, course_id)
    ch1, ch2 = await chapter_ids(sessionmaker, course_id)

    start = await client.get(f"/study/{eid}/start", headers=htmx(client))
    assert start.headers.get("HX-Redirect") == f"/study/{eid}"
    toc = await client.get(f"/study/{eid}")
    assert "第1讲 测试章节" in toc.text and "第2讲 测试章节" in toc.text and "未解锁" in toc.text
    assert "0:03" in toc.text  # each chapter's duration

    locked = await post_json(client, f"/study/{eid}/chapters/{ch2}/open")
    assert locked.status_code == 409 and locked.json()["message"] == "需要按目录顺序学习，请先学完上一章节"
    assert (await client.get(f"/study/{eid}/chapters/{ch2}")).status_code == 422

    page = await client.get(f"/study/{eid}/chapters/{ch1}")
    video_tag = page.text.split("<video", 1)[1].split(">", 1)[0]
    assert not re.search(r"\scontrols[\s=>]", video_tag + ">")  # no seek bar
    opened = await post_json(client, f"/study/{eid}/chapters/{ch1}/open")
    assert opened.status_code == 200, opened.text
    view = opened.json()
    assert view["position"] == 0 and view["duration"] == 3

    seek = await beat(client, eid, view, ch1, 60)
    assert seek.status_code == 409
    assert seek.json()["message"] == "学习过程中视频不可拖动播放" and seek.json()["position"] == 0
    await asyncio.sleep(1.5)
    view = (await beat(client, eid, view, ch1, 1.5)).json()
    assert view["position"] == pytest.approx(1.5)
    await asyncio.sleep(1.6)
    done = (await beat(client, eid, view, ch1, 3)).json()
    assert done["chapter_done"] and not done["course_done"]

    toc = await client.get(f"/study/{eid}")
    assert toc.text.count("已学完") >= 1 and "未解锁" not in toc.text
    view = (await post_json(client, f"/study/{eid}/chapters/{ch2}/open")).json()
    await asyncio.sleep(3.1)
    done = (await beat(client, eid, view, ch2, 3)).json()
    assert done["chapter_done"] and done["course_done"]

    mine = await client.get("/my/courses")
    assert "已学完" in mine.text and "100%" in mine.text
    async with sessionmaker() as s:
        enrollment = await s.get(Enrollment, eid)
        assert enrollment is not None and enrollment.status == "completed" and enrollment.credited_seconds == 6
        rows = (await s.scalars(select(ChapterProgress).where(ChapterProgress.enrollment_id == eid))).all()
        assert sorted((r.chapter_id, r.completed) for r in rows) == [(ch1, True), (ch2, True)]
        assert await s.get(ActiveStudy, client.user.id) is None  # free for the next course

    async def certificate_and_hours() -> bool:
        async with sessionmaker() as s:
            cert = await s.scalar(select(func.count()).select_from(Certificate).where(Certificate.enrollment_id == eid))
            hours = await s.scalar(
                select(func.count()).select_from(HoursRecord).where(HoursRecord.enrollment_id == eid)
            )
            return cert == 1 and hours == 1

    await eventually(certificate_and_hours)
    finished = await client.get(f"/study/{eid}")
    assert "本课程已全部学完" in finished.text

    # the finished workflow is never started again from zero: opening a chapter is refused
    handle = temporal_client.get_workflow_handle(f"study-{eid}")

    async def closed() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(closed)
    again = await post_json(client, f"/study/{eid}/chapters/{ch1}/open")
    assert again.status_code == 409 and again.json()["message"] == "该课程已全部学完"
    review = await client.get(f"/study/{eid}/chapters/{ch1}")
    assert "回看" in review.text  # a finished chapter plays for review, nothing is credited


async def test_one_course_at_a_time_against_two_simultaneous_first_sessions(trainee_client, sessionmaker) -> None:
    client = trainee_client
    a = await enroll(sessionmaker, client.user.id, await make_test_course(sessionmaker, durations=(30,)))
    b = await enroll(sessionmaker, client.user.id, await make_test_course(sessionmaker, durations=(30,)))
    [cha] = await chapter_ids(sessionmaker, (await _course_of(sessionmaker, a)))
    [chb] = await chapter_ids(sessionmaker, (await _course_of(sessionmaker, b)))

    first, second = await asyncio.gather(
        post_json(client, f"/study/{a}/chapters/{cha}/open"), post_json(client, f"/study/{b}/chapters/{chb}/open")
    )
    codes = sorted([first.status_code, second.status_code])
    assert codes == [200, 409], (first.text, second.text)
    loser = second if second.status_code == 409 else first
    assert loser.json()["message"] == "需在一个课程全部学完后，再进行下一个课程的学习"
    other = b if loser is second else a
    refused = await client.get(f"/study/{other}/start", headers=htmx(client))
    assert refused.status_code == 422 and "需在一个课程全部学完后" in refused.text
    async with sessionmaker() as s:
        statuses = sorted([(await s.get(Enrollment, a)).status, (await s.get(Enrollment, b)).status])
    assert statuses == ["not_started", "studying"]  # the refused one stays unstudied


async def _course_of(maker, eid: int) -> int:
    async with maker() as s:
        e = await s.get(Enrollment, eid)
        assert e is not None
        return e.course_id


async def test_captcha_image_wrong_and_right_answers(trainee_client, sessionmaker, settings, app) -> None:
    client = trainee_client
    with patched(settings, captcha_min_seconds=1, captcha_max_seconds=1):
        course_id = await make_test_course(sessionmaker, durations=(60,))
        eid = await enroll(sessionmaker, client.user.id, course_id)
        [ch] = await chapter_ids(sessionmaker, course_id)
        view = (await post_json(client, f"/study/{eid}/chapters/{ch}/open")).json()
    assert view["check_in"] == 1
    await asyncio.sleep(1.2)
    view = (await beat(client, eid, view, ch, 1.2)).json()
    assert view["captcha_serial"] is not None and view["position"] == pytest.approx(1)

    image = await client.get(f"/study/{eid}/captcha.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG") and image.headers["cache-control"] == "no-store"
    hook = (await client.get(f"/study/{eid}/test-hooks/captcha")).json()
    assert hook["text"] not in str(view)  # the answer is never in what the player receives

    wrong = await post_json(client, f"/study/{eid}/captcha", {"session_id": view["session_id"], "answer": "0000"})
    assert wrong.status_code == 422 and wrong.json()["message"] == "验证码错误，请重新输入"
    assert wrong.json()["captcha_serial"] != view["captcha_serial"]
    hook = (await client.get(f"/study/{eid}/test-hooks/captcha")).json()
    right = await post_json(client, f"/study/{eid}/captcha", {"session_id": view["session_id"], "answer": hook["text"]})
    assert right.status_code == 200 and right.json()["captcha_serial"] is None

    with patched(app.state.settings, test_hooks=False):
        assert (await client.get(f"/study/{eid}/test-hooks/captcha")).status_code == 404

    other = await make_trainee(sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as intruder:
        await login_trainee(intruder, other)
        assert (await intruder.get(f"/study/{eid}")).status_code == 404
        stolen = await post_json(
            intruder, f"/study/{eid}/heartbeat", {"session_id": view["session_id"], "chapter_id": ch, "position": 1}
        )
        assert stolen.status_code == 409 and stolen.json()["code"] == "NotFound"
