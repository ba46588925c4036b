"""A completed enrollment made straight in the database (for tests that are not about purchase or
study), and its certificate issued by the real activity."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.certificates import CertificateActivities
from config import Settings
from db.base import utcnow
from db.models.catalog import Course
from db.models.certificates import Certificate
from db.models.orders import Enrollment, EnrollmentStatus, Order, OrderItem, OrderStatus
from db.models.users import User
from domain.certificates import CertificateIssued, CertificateRequest

_serial = itertools.count(1)


async def make_completed_enrollment(
    maker: async_sessionmaker[AsyncSession],
    trainee: User,
    course_code: str = "PUB-03",
    school_id: int = 1,
    training_type: str = "in_post",
) -> Enrollment:
    """A paid order of one course, studied to the end (as the order and study activities leave it)."""
    now = utcnow()
    async with maker() as session:
        course = await session.scalar(
            select(Course).where(Course.code == course_code, Course.school_id == school_id)
        )
        assert course is not None, course_code
        order_no = f"{now:%Y%m%d%H%M%S}-C{next(_serial):05d}"
        session.add(
            Order(
                order_no=order_no,
                trainee_id=trainee.id,
                school_id=school_id,
                training_year=date.today().year,
                training_type=training_type,
                amount_cents=course.price_cents,
                status=OrderStatus.PAID,
                channel="alipay",
                created_at=now,
                expires_at=now + timedelta(minutes=30),
                paid_at=now,
            )
        )
        item = OrderItem(
            order_no=order_no, course_id=course.id, title=course.title, hours=course.hours,
            price_cents=course.price_cents,
        )
        session.add(item)
        await session.flush()
        enrollment = Enrollment(
            order_item_id=item.id,
            order_no=order_no,
            trainee_id=trainee.id,
            course_id=course.id,
            school_id=school_id,
            training_year=date.today().year,
            training_type=training_type,
            price_cents=course.price_cents,
            status=EnrollmentStatus.COMPLETED,
            credited_seconds=3600,
            total_seconds=3600,
            started_at=now,
            completed_at=now,
        )
        session.add(enrollment)
        await session.commit()
        return enrollment


async def issue_certificate(
    maker: async_sessionmaker[AsyncSession], settings: Settings, enrollment_id: int
) -> Certificate:
    issued: CertificateIssued = await CertificateActivities(maker, settings).issue(
        CertificateRequest(enrollment_id=enrollment_id)
    )
    async with maker() as session:
        cert = await session.scalar(select(Certificate).where(Certificate.cert_no == issued.cert_no))
        assert cert is not None
        return cert
