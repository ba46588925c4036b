"""Checkout: validate the selection against the catalog and start the order process."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import (
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.temporal import start_operation, update_with_start
from config import Settings
from db.models.catalog import Course, School
from db.models.checkout import Checkout, OpenOrderLine
from db.models.orders import Enrollment, EnrollmentStatus, Order, OrderStatus
from db.models.users import User
from domain.beijing_time import beijing_today
from domain.catalog import format_hours, offered_years
from domain.errors import DomainError
from domain.orders import OrderInput, OrderLine, OrderView, make_order_no, validate_checkout
from workflows.common import process_attributes
from workflows.order import OrderWorkflow, order_workflow_id

ORDER_SERIALS = 1_000_000  # random part of an order number; drawn again on the rare clash
CLAIM_ATTEMPTS = 4
# a claim whose order was never recorded (the web process died before starting it) is void after this
STALE_CLAIM_AFTER = timedelta(minutes=2)
CLAIMED, CLASH, EXISTING, RETRY = "claimed", "clash", "existing", "retry"


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
    checkout_key: str | None = None,
) -> OrderView:
    """Starts the order, or answers with the one this form (`checkout_key`) or a parallel checkout
    of the same courses already made; a trainee holds one open order per course and year."""
    if checkout_key:
        earlier = await _order_of_key(session, trainee.id, checkout_key)
        if earlier is not None and (row := await session.get(Order, earlier)) is not None:
            return _view_of(row)
    courses = await _selected_courses(session, course_ids)
    school = await session.get(School, courses[0].school_id) if courses else None
    validate_checkout(
        course_ids=course_ids,
        training_year=training_year,
        training_type=training_type,
        offered_years=offered_years(beijing_today(now), school.offered_years if school else None),
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
        trainee_name=trainee.name,
    )
    for _ in range(CLAIM_ATTEMPTS):
        outcome, order_no = await _claim(session, order, checkout_key, now)
        if outcome == CLASH:  # two checkouts drew the same number: draw again
            order = replace(order, order_no=make_order_no(now, secrets.randbelow(ORDER_SERIALS)))
        elif outcome == EXISTING:  # the same form sent again, or a parallel checkout of the same courses
            return await _resume(session, client, settings, replace(order, order_no=order_no))
        elif outcome == CLAIMED:
            try:
                return await _start_order(client, settings, order)
            except WorkflowAlreadyStartedError:  # a finished order from before the claims had this number
                await _unclaim(session, order.order_no)
                order = replace(order, order_no=make_order_no(now, secrets.randbelow(ORDER_SERIALS)))
            except (RPCError, RuntimeError, WorkflowUpdateFailedError):
                # Temporal unreachable, or the order could not be stored: the claim goes, so that
                # nothing is left half-done; the person is told to try again. (A request cut off
                # keeps its claim: the browser's retry with the same key resumes it.)
                await _unclaim(session, order.order_no)
                raise
    raise DomainError("Busy")


async def _claim(session: AsyncSession, order: OrderInput, checkout_key: str | None, now: datetime) -> tuple[str, str]:
    """Claims the order number, the form's key and each (course, year) for this trainee, in one
    transaction; the unique constraints settle any race (parallel checkouts, a form sent twice)."""
    try:
        session.add(Checkout(order_no=order.order_no, trainee_id=order.trainee_id, checkout_key=checkout_key))
        await session.flush()  # the lines refer to it
        session.add_all(
            OpenOrderLine(
                order_no=order.order_no,
                trainee_id=order.trainee_id,
                course_id=line.course_id,
                training_year=order.training_year,
            )
            for line in order.lines
        )
        await session.commit()
        return CLAIMED, order.order_no
    except IntegrityError:
        await session.rollback()
    if checkout_key:
        earlier = await _order_of_key(session, order.trainee_id, checkout_key)
        if earlier is not None:
            return EXISTING, earlier
    if await session.get(Checkout, order.order_no) is not None:
        return CLASH, order.order_no
    course_ids = [line.course_id for line in order.lines]
    held = (
        await session.execute(
            select(OpenOrderLine.order_no, OpenOrderLine.course_id, Order.status, Checkout.created_at)
            .join(Checkout, Checkout.order_no == OpenOrderLine.order_no)
            .outerjoin(Order, Order.order_no == OpenOrderLine.order_no)
            .where(
                OpenOrderLine.trainee_id == order.trainee_id,
                OpenOrderLine.training_year == order.training_year,
                OpenOrderLine.course_id.in_(course_ids),
            )
        )
    ).all()
    stale = {
        no
        for no, _, status, created_at in held
        if (status is not None and status != OrderStatus.PENDING)
        or (status is None and created_at < now - STALE_CLAIM_AFTER)
    }
    if stale:  # an order closed without releasing its lines, or a start that never happened
        await session.execute(delete(OpenOrderLine).where(OpenOrderLine.order_no.in_(stale)))
        await session.commit()
    live = {no for no, *_ in held if no not in stale}
    if not live:
        return RETRY, order.order_no
    if len(live) == 1:
        [other] = live
        lines = set(
            (await session.scalars(select(OpenOrderLine.course_id).where(OpenOrderLine.order_no == other))).all()
        )
        if lines == set(course_ids):
            return EXISTING, other
    raise DomainError("OrderAlreadyOpen")


async def _unclaim(session: AsyncSession, order_no: str) -> None:
    await session.rollback()
    await session.execute(delete(OpenOrderLine).where(OpenOrderLine.order_no == order_no))
    await session.execute(delete(Checkout).where(Checkout.order_no == order_no))
    await session.commit()


async def _order_of_key(session: AsyncSession, trainee_id: int, checkout_key: str) -> str | None:
    return await session.scalar(
        select(Checkout.order_no).where(Checkout.trainee_id == trainee_id, Checkout.checkout_key == checkout_key)
    )


async def _resume(session: AsyncSession, client: Client, settings: Settings, order: OrderInput) -> OrderView:
    """The order an earlier checkout claimed: as recorded, or started now if that checkout's
    process never got to start it (the web process died in between)."""
    row = await session.get(Order, order.order_no)
    if row is not None:
        return _view_of(row)
    return await _start_order(client, settings, order)


def _view_of(row: Order) -> OrderView:
    return OrderView(
        order_no=row.order_no,
        state=row.status,
        amount_cents=row.amount_cents,
        expires_at=row.expires_at.isoformat(),
        channel=row.channel,
        trade_no=row.trade_no,
    )


async def _start_order(client: Client, settings: Settings, order: OrderInput) -> OrderView:
    """Update-with-start: the order workflow starts (or is already running) and answers once the
    order is on record."""
    start = start_operation(
        OrderWorkflow.run,
        order,
        id=order_workflow_id(order.order_no),
        task_queue=settings.task_queue,
        # the number is ours (claimed in `checkouts`): a parallel checkout that found the claim may
        # have started it first; a finished order is never started again
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=process_attributes(
            "pending", trainee_id=order.trainee_id, school_id=order.school_id, order_no=order.order_no
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


async def own_order(session: AsyncSession, user: User, order_no: str) -> Order:
    """Another trainee's order is indistinguishable from a missing one."""
    order = await session.scalar(
        select(Order)
        .where(Order.order_no == order_no, Order.trainee_id == user.id)
        .options(selectinload(Order.items), selectinload(Order.refunds))
    )
    if order is None:
        raise DomainError("OrderNotFound")
    return order
