"""Checkout: validate the selection against the catalog and start the order process."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.temporal import update_with_start
from config import Settings
from db.models.catalog import Course, School
from db.models.orders import Enrollment, EnrollmentStatus
from db.models.users import User
from domain.catalog import format_hours, offered_years
from domain.errors import DomainError
from domain.orders import OrderInput, OrderLine, OrderView, make_order_no, validate_checkout
from workflows.common import ORDER_NO, PROCESS_STATUS, SCHOOL_ID, TRAINEE_ID
from workflows.order import OrderWorkflow

ORDER_SERIALS = 1_000_000  # random part of an order number; drawn again on the rare clash
ORDER_NO_ATTEMPTS = 3


def order_workflow_id(order_no: str) -> str:
    return f"order-{order_no}"


async def place_order(
    *,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    trainee: User,
    course_ids: list[int],
    training_year: int | None,
    training_type: str,
    now: datetime,
) -> OrderView:
    courses = await _selected_courses(session, course_ids)
    school = await session.get(School, courses[0].school_id) if courses else None
    validate_checkout(
        course_ids=course_ids,
        training_year=training_year,
        training_type=training_type,
        offered_years=offered_years(date.today(), school.offered_years if school else None),
    )
    assert training_year is not None and school is not None
    if len({c.school_id for c in courses}) > 1:
        raise DomainError("MixedSchools")
    await _refuse_already_held(session, trainee.id, course_ids, training_year)

    order = OrderInput(
        order_no=make_order_no(now, secrets.randbelow(ORDER_SERIALS)),
        trainee_id=trainee.id,
        school_id=school.id,
        training_year=training_year,
        training_type=training_type,
        lines=[
            OrderLine(course_id=c.id, title=c.title, hours=format_hours(c.hours), price_cents=c.price_cents)
            for c in courses
        ],
        payment_timeout_seconds=settings.order_payment_timeout_minutes * 60,
        late_payment_window_seconds=settings.late_payment_window_hours * 3600,
    )
    for _ in range(ORDER_NO_ATTEMPTS - 1):
        try:
            return await _start_order(client, settings, order, trainee, school.id)
        except WorkflowAlreadyStartedError:
            # two checkouts drew the same number in the same second: draw again
            order = replace(order, order_no=make_order_no(now, secrets.randbelow(ORDER_SERIALS)))
    return await _start_order(client, settings, order, trainee, school.id)


async def _start_order(
    client: Client, settings: Settings, order: OrderInput, trainee: User, school_id: int
) -> OrderView:
    """Update-with-start: the order workflow starts and answers once the order is on record."""
    start = WithStartWorkflowOperation(
        OrderWorkflow.run,
        order,
        id=order_workflow_id(order.order_no),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(TRAINEE_ID, str(trainee.id)),
                SearchAttributePair(SCHOOL_ID, str(school_id)),
                SearchAttributePair(ORDER_NO, order.order_no),
                SearchAttributePair(PROCESS_STATUS, "pending"),
            ]
        ),
    )
    return await update_with_start(client, OrderWorkflow.placed, start=start)


async def _selected_courses(session: AsyncSession, course_ids: list[int]) -> list[Course]:
    if not course_ids:
        raise DomainError("EmptySelection")
    found = (await session.scalars(select(Course).where(Course.id.in_(course_ids), Course.published))).all()
    if len(found) != len(set(course_ids)):
        raise DomainError("CourseUnavailable")
    return sorted(found, key=lambda c: course_ids.index(c.id))


async def _refuse_already_held(session: AsyncSession, trainee_id: int, course_ids: list[int], year: int) -> None:
    held = await session.scalar(
        select(Enrollment.id).where(
            Enrollment.trainee_id == trainee_id,
            Enrollment.course_id.in_(course_ids),
            Enrollment.training_year == year,
            Enrollment.status != EnrollmentStatus.WITHDRAWN,
        )
    )
    if held is not None:
        raise DomainError("CourseAlreadyHeld")
