"""Helpers for the hours tests: paid enrollments made directly in the database (these tests don't
care about purchase), and small evidence files."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime

from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models.catalog import Course
from db.models.orders import Enrollment, EnrollmentStatus, Order, OrderItem, OrderStatus


async def make_enrollment(
    maker: async_sessionmaker[AsyncSession],
    trainee_id: int,
    code: str,
    *,
    school_id: int = 1,
    year: int | None = None,
    training_type: str = "in_post",
    completed: bool = True,
) -> Enrollment:
    """A paid enrollment of course ``code`` (of school ``school_id``), completed by default."""
    now = datetime.now(UTC)
    year = year or now.year
    async with maker() as session:
        course = await session.scalar(select(Course).where(Course.code == code, Course.school_id == school_id))
        assert course is not None, code
        order = Order(
            order_no=f"T{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}",
            trainee_id=trainee_id,
            school_id=school_id,
            training_year=year,
            training_type=training_type,
            amount_cents=course.price_cents,
            status=OrderStatus.PAID,
            expires_at=now,
            paid_at=now,
        )
        item = OrderItem(
            order_no=order.order_no,
            course_id=course.id,
            title=course.title,
            hours=course.hours,
            price_cents=course.price_cents,
        )
        session.add_all([order, item])
        await session.flush()
        enrollment = Enrollment(
            order_item_id=item.id,
            order_no=order.order_no,
            trainee_id=trainee_id,
            course_id=course.id,
            school_id=school_id,
            training_year=year,
            training_type=training_type,
            price_cents=course.price_cents,
            status=EnrollmentStatus.COMPLETED if completed else EnrollmentStatus.NOT_STARTED,
            started_at=now if completed else None,
            completed_at=now if completed else None,
        )
        session.add(enrollment)
        await session.commit()
        return enrollment


def png_bytes(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return out.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
