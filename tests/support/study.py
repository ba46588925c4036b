"""Helpers for the study / swap / withdraw tests: a tiny test-only course, paid enrollments made
directly in the database, purchases through the real cashier, settings patched for one test."""

from __future__ import annotations

import contextlib
import itertools
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from db.models.catalog import Category, Chapter, Course, Major
from db.models.orders import Enrollment, EnrollmentStatus, Order, OrderItem, OrderStatus
from media.clips import make_clip
from tests.support import eventually, htmx

YEAR = date.today().year
TEST_CLIP = "test-study-clip.mp4"
_serial = itertools.count(1)


def ensure_test_clip(settings: Settings) -> str:
    """A 4-second clip under media_dir (the player loops it); made once per test session."""
    path = settings.media_dir / TEST_CLIP
    if not path.exists():
        make_clip(path, "测试课件", seconds=4, width=320, height=180)
    return TEST_CLIP


async def make_test_course(
    maker: async_sessionmaker[AsyncSession],
    durations: tuple[int, ...] = (3, 3),
    hours: str = "1",
    major: str = "农学",
    school_id: int = 1,
) -> int:
    """An unpublished course (invisible in the catalog, so other tests' listings are unaffected)."""
    n = next(_serial)
    async with maker() as session:
        major_id = await session.scalar(select(Major.id).where(Major.name == major))
        category_id = await session.scalar(select(Category.id).where(Category.school_id == school_id))
        course = Course(
            school_id=school_id,
            category_id=category_id,
            major_id=major_id,
            code=f"T-{uuid.uuid4().hex[:8]}",
            title=f"测试课程{n}：短章节",
            teacher="测试讲师",
            subject_category="public",
            hours=Decimal(hours),
            price_cents=1000,
            published=False,
        )
        session.add(course)
        await session.flush()
        session.add_all(
            Chapter(course_id=course.id, seq=i, title=f"第{i}讲 测试章节", duration_seconds=d, clip=TEST_CLIP)
            for i, d in enumerate(durations, start=1)
        )
        await session.commit()
        return course.id


async def enroll(maker: async_sessionmaker[AsyncSession], trainee_id: int, course_id: int) -> int:
    """A paid order with one line and its enrollment, as apply_payment would leave them."""
    n = next(_serial)
    now = datetime.now(UTC)
    async with maker() as session:
        course = await session.get(Course, course_id)
        assert course is not None
        chapters = (await session.scalars(select(Chapter).where(Chapter.course_id == course_id))).all()
        order_no = f"{now:%Y%m%d%H%M%S}-T{n:05d}{uuid.uuid4().hex[:4]}"
        session.add(
            Order(
                order_no=order_no, trainee_id=trainee_id, school_id=course.school_id, training_year=YEAR,
                training_type="in_post", amount_cents=course.price_cents, status=OrderStatus.PAID,
                channel="alipay", trade_no=f"T{uuid.uuid4().hex[:16]}", created_at=now,
                expires_at=now + timedelta(minutes=30), paid_at=now,
            )
        )
        await session.flush()
        item = OrderItem(order_no=order_no, course_id=course_id, title=course.title, hours=course.hours,
                         price_cents=course.price_cents)
        session.add(item)
        await session.flush()
        enrollment = Enrollment(
            order_item_id=item.id, order_no=order_no, trainee_id=trainee_id, course_id=course_id,
            school_id=course.school_id, training_year=YEAR, training_type="in_post",
            price_cents=course.price_cents, status=EnrollmentStatus.NOT_STARTED,
            total_seconds=sum(c.duration_seconds for c in chapters),
        )
        session.add(enrollment)
        await session.commit()
        return enrollment.id


async def course_id_by_code(maker: async_sessionmaker[AsyncSession], code: str, school_id: int = 1) -> int:
    async with maker() as session:
        cid = await session.scalar(select(Course.id).where(Course.code == code, Course.school_id == school_id))
        assert cid is not None, code
        return cid


async def buy(client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], *codes: str) -> list[int]:
    """Checkout, 支付宝, 模拟支付 through the real pages (needs live_server for the notification);
    returns the enrollment ids once the payment is applied."""
    ids = [await course_id_by_code(maker, c) for c in codes]
    data = {"course_ids": [str(i) for i in ids], "training_year": str(YEAR), "training_type": "in_post"}
    resp = await client.post("/orders", data=data, headers=htmx(client))
    assert resp.status_code == 204, resp.text
    order_no = resp.headers["HX-Redirect"].split("/")[2]
    page = await client.post(f"/cashier/{order_no}/next", data={"channel": "alipay"}, headers=htmx(client))
    trade = re.search(r"/paysim/scan/(\w+)", page.text)
    assert trade, page.text
    paid = await client.post(f"/paysim/scan/{trade.group(1)}/pay", headers=htmx(client))
    assert "支付成功" in paid.text

    async def enrollments() -> list[int]:
        async with maker() as session:
            rows = (await session.scalars(select(Enrollment).where(Enrollment.order_no == order_no))).all()
            by_course = {e.course_id: e.id for e in rows}
            return [by_course[c] for c in ids] if len(by_course) == len(ids) else []

    return await eventually(enrollments)


@contextlib.contextmanager
def patched(settings: Settings, **values: Any) -> Iterator[Settings]:
    """Changes the app's settings for one test (new study workflows take them at their start)."""
    saved = {k: getattr(settings, k) for k in values}
    for k, v in values.items():
        setattr(settings, k, v)
    try:
        yield settings
    finally:
        for k, v in saved.items():
            setattr(settings, k, v)
