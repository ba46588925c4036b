"""Helpers for the invoice tests (个人发票, 集体开票资格 and 单位开票): unit members with paid orders made
directly in the database (these tests don't care about purchase), images made with Pillow, the inbox's
decision, the mail catcher."""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import urlparse

import httpx
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from db.models.catalog import Course
from db.models.orders import Order, OrderItem, OrderStatus, Refund, RefundStatus
from db.models.tasks import ReviewTask
from db.models.users import User
from mailcatcher.server import MailCatcher, PortInUse
from tests.support import csrf, eventually, htmx, make_trainee


def png_bytes(size: tuple[int, int] = (120, 80), color: str = "navy") -> bytes:
    """A real PNG, with a text chunk that re-encoding must drop."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "secret-metadata")
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


async def unit_member(maker: async_sessionmaker[AsyncSession], unit_name: str, name: str = "单位学员") -> User:
    user = await make_trainee(maker, name)
    async with maker() as session:
        await session.execute(update(User).where(User.id == user.id).values(unit_name=unit_name))
        await session.commit()
    user.unit_name = unit_name
    return user


def unique_unit(label: str = "测试单位") -> str:
    return f"{label}{secrets.token_hex(3)}"


async def paid_order(
    maker: async_sessionmaker[AsyncSession],
    trainee_id: int,
    *codes: str,
    year: int | None = None,
    school_id: int = 1,
    refunded_cents: int = 0,
) -> str:
    """A paid order of the given courses (of school 1 by default); `refunded_cents` of it refunded."""
    now = datetime.now(UTC)
    async with maker() as session:
        courses = (
            await session.scalars(select(Course).where(Course.code.in_(codes), Course.school_id == school_id))
        ).all()
        assert len(courses) == len(codes), codes
        order = Order(
            order_no=f"G{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}",
            trainee_id=trainee_id,
            school_id=school_id,
            training_year=year or now.year,
            training_type="in_post",
            amount_cents=sum(c.price_cents for c in courses),
            status=OrderStatus.PAID,
            channel="alipay",
            trade_no=f"T{secrets.token_hex(6)}",
            expires_at=now,
            paid_at=now,
        )
        session.add(order)
        await session.flush()
        session.add_all(
            OrderItem(order_no=order.order_no, course_id=c.id, title=c.title, hours=c.hours, price_cents=c.price_cents)
            for c in courses
        )
        if refunded_cents:
            session.add(
                Refund(
                    refund_no=f"R-{order.order_no}",
                    order_no=order.order_no,
                    trade_no=order.trade_no,
                    amount_cents=refunded_cents,
                    reason="withdraw",
                    status=RefundStatus.DONE,
                    done_at=now,
                )
            )
        await session.commit()
        return order.order_no


async def task_of(maker: async_sessionmaker[AsyncSession], workflow_id_prefix: str) -> ReviewTask:
    """The review task a workflow opened (its activity writes it a moment after the submission)."""

    async def find() -> ReviewTask | None:
        async with maker() as session:
            return await session.scalar(
                select(ReviewTask)
                .where(ReviewTask.workflow_id.startswith(workflow_id_prefix))
                .order_by(ReviewTask.id.desc())
                .limit(1)
            )

    return await eventually(find)


async def decide(staff: httpx.AsyncClient, task_id: int, approve: bool, reason: str = "") -> httpx.Response:
    """领取 then 通过/驳回 through the inbox, as a reviewer does."""
    claimed = await staff.post(f"/staff/tasks/{task_id}/claim", headers=htmx(staff))
    assert claimed.status_code == 200, claimed.text
    return await staff.post(
        f"/staff/tasks/{task_id}/decide",
        data={"decision": "approve" if approve else "reject", "reason": reason},
        headers=htmx(staff),
    )


@asynccontextmanager
async def mail_catcher(settings: Settings) -> AsyncIterator[str]:
    """The mail catcher on the test settings' SMTP port (or the one another test module started);
    yields its web address."""
    http_port = urlparse(settings.mailcatcher_url).port or 0
    catcher = MailCatcher(settings.var_dir / "mail", smtp_port=settings.smtp_port, http_port=http_port)
    try:
        await catcher.start()
    except PortInUse:
        yield settings.mailcatcher_url
        return
    try:
        yield catcher.http_url
    finally:
        await catcher.stop()


async def mails_to(mail_url: str, address: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=mail_url) as http:
        mails = (await http.get("/api/mails")).json()
    return [m for m in mails if any(address in to for to in m["to"])]


__all__ = ["csrf", "htmx"]
