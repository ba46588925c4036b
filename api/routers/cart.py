"""购物车: 加入购物车, 去购物车, remove; 购买课程 goes to the same pay list with one course."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from api.deps import CurrentTrainee, SessionDep
from api.pages import trainee_context
from api.templating import render
from db.base import utcnow
from db.models.catalog import Course, School
from db.models.orders import CartItem
from domain.beijing_time import beijing_today
from domain.catalog import TrainingType, offered_years
from domain.errors import DomainError, message_for

router = APIRouter(tags=["cart"])


@router.get("/cart", response_class=HTMLResponse)
async def cart_page(request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    items = (
        await session.scalars(
            select(CartItem)
            .where(CartItem.trainee_id == user.id)
            .options(
                joinedload(CartItem.course).joinedload(Course.school),
                joinedload(CartItem.course).joinedload(Course.major),
            )
            .order_by(CartItem.added_at)
        )
    ).all()
    courses = [i.course for i in items]
    return await _pay_list(request, session, user, courses, mode="cart", checked=set())


@router.get("/buy/{course_id}", response_class=HTMLResponse)
async def buy_now(course_id: int, request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    course = await session.scalar(
        select(Course)
        .where(Course.id == course_id, Course.published)
        .options(joinedload(Course.school), joinedload(Course.major))
    )
    if course is None:
        raise DomainError("CourseUnavailable")
    return await _pay_list(request, session, user, [course], mode="buy", checked={course.id})


async def _pay_list(
    request: Request,
    session: SessionDep,
    user: CurrentTrainee,
    courses: list[Course],
    *,
    mode: str,
    checked: set[int],
) -> Response:
    ctx = await trainee_context(request, session, user)
    school: School | None = ctx["school"] or (courses[0].school if courses else None)
    years = offered_years(beijing_today(utcnow()), school.offered_years if school else None)
    return render(
        request,
        "cart/cart.html",
        {
            **ctx,
            "courses": courses,
            "mode": mode,
            "checked": checked,
            "years": years,
            "training_types": list(TrainingType),
            "checkout_key": secrets.token_urlsafe(16),  # one per form shown: a retry is the same checkout
            "empty_selection": message_for("EmptySelection"),  # 确认支付 with nothing ticked, said at once
        },
    )


@router.post("/cart/items", response_class=HTMLResponse)
async def add_to_cart(
    request: Request, user: CurrentTrainee, session: SessionDep, course_id: Annotated[int, Form()]
) -> Response:
    course = await session.scalar(select(Course).where(Course.id == course_id, Course.published))
    if course is None:
        raise DomainError("CourseUnavailable")
    session.add(CartItem(trainee_id=user.id, course_id=course.id))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()  # already in the cart: adding twice is harmless
    return render(
        request,
        "cart/added.html",
        {"course": course},
        headers={"HX-Trigger": "cartChanged"},
    )


@router.delete("/cart/items/{course_id}", response_class=HTMLResponse)
async def remove_from_cart(course_id: int, request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    await session.execute(delete(CartItem).where(CartItem.trainee_id == user.id, CartItem.course_id == course_id))
    await session.commit()
    return Response(status_code=200, headers={"HX-Trigger": "cartChanged", "HX-Refresh": "true"})


@router.get("/cart/count", response_class=HTMLResponse)
async def cart_count(request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    ctx = await trainee_context(request, session, user)
    return HTMLResponse(str(ctx["cart_count"] or ""))
