"""Helpers for the 课程管理 tests: clips made with PyAV, a course administrator's client, a draft
course made through the pages."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import av
import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models.catalog import Category, Course, Major
from db.models.tasks import ReviewTask
from media.clips import make_clip
from tests.support import csrf, eventually, htmx

_clips: dict[tuple[int, str], bytes] = {}


def clip_bytes(tmp: Path, seconds: int) -> bytes:
    """A real H.264 MP4 of `seconds` (cached: encoding takes a moment)."""
    key = (seconds, "h264")
    if key not in _clips:
        path = make_clip(tmp / f"clip-{seconds}.mp4", "测试课件", seconds=seconds, width=160, height=90, fps=2)
        _clips[key] = path.read_bytes()
    return _clips[key]


def mpeg4_clip_bytes(tmp: Path, seconds: int = 2) -> bytes:
    """An MP4 whose video is MPEG-4 Part 2, not H.264."""
    path = tmp / "mpeg4.mp4"
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=2)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for i in range(seconds * 2):
            frame = av.VideoFrame(160, 96, "yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, 2)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path.read_bytes()


async def choices(maker: async_sessionmaker[AsyncSession], school_id: int = 1) -> tuple[int, int]:
    async with maker() as s:
        category = await s.scalar(select(Category.id).where(Category.school_id == school_id).order_by(Category.id))
        major = await s.scalar(select(Major.id).order_by(Major.id))
        assert category and major
        return category, major


def course_form(category_id: int, major_id: int, **changes: str) -> dict[str, str]:
    form = {
        "course_title": "农村电商实务",
        "category_id": str(category_id),
        "major_id": str(major_id),
        "subject_category": "professional",
        "hours": "1",
        "price": "30.00",
        "description": "电商平台运营与农产品上行。",
        "teacher": "吴老师",
    }
    form.update(changes)
    return form


async def create_course(client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], **changes: str) -> int:
    category, major = await choices(maker)
    resp = await client.post("/staff/courses", data=course_form(category, major, **changes), headers=csrf(client))
    assert resp.status_code == 303, resp.text
    found = re.search(r"/staff/courses/(\d+)$", resp.headers["location"])
    assert found
    return int(found.group(1))


async def upload_chapter(
    client: httpx.AsyncClient, course_id: int, data: bytes, title: str = "第1讲 概览", name: str = "lesson.mp4"
) -> httpx.Response:
    return await client.post(
        f"/staff/courses/{course_id}/chapters",
        data={"chapter_title": title},
        files={"courseware": (name, data, "video/mp4")},
        headers=htmx(client),
    )


async def course_row(maker: async_sessionmaker[AsyncSession], course_id: int) -> Course:
    async with maker() as s:
        course = await s.get(Course, course_id)
        assert course is not None
        return course


async def open_task_for(maker: async_sessionmaker[AsyncSession], course_id: int) -> ReviewTask:
    async def find() -> ReviewTask | None:
        async with maker() as s:
            tasks = (
                await s.scalars(
                    select(ReviewTask).where(ReviewTask.kind == "course_publication", ReviewTask.status == "open")
                )
            ).all()
            return next((t for t in tasks if (t.payload or {}).get("course_id") == str(course_id)), None)

    return await eventually(find)
