"""在线选课: the school's home page, the course list with filters, and the course detail."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from api.deps import CurrentTrainee, SessionDep
from api.pages import PAGE_SIZE, page_numbers, trainee_context
from api.templating import render
from db.models.catalog import Category, Course, Major
from db.models.orders import CartItem
from domain.catalog import SubjectCategory
from domain.errors import DomainError

router = APIRouter(tags=["catalog"])


@router.get("/home", response_class=HTMLResponse)
async def school_home(request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    ctx = await trainee_context(request, session, user)
    if ctx["school"] is None:
        return RedirectResponse("/supervision/bases", status_code=303)
    school = ctx["school"]
    categories = (
        await session.scalars(select(Category).where(Category.school_id == school.id).order_by(Category.sort))
    ).all()
    featured = (
        await session.scalars(_published(school.id).options(selectinload(Course.major)).order_by(Course.id).limit(8))
    ).all()
    in_cart = await _cart_course_ids(session, user.id)
    return render(
        request,
        "catalog/home.html",
        {**ctx, "categories": categories, "courses": featured, "in_cart": in_cart},
    )


@router.get("/courses", response_class=HTMLResponse)
async def course_list(
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    category: str = "",
    major: str = "",
    subject: str = "",
    hours: str = "",
    q: str = "",
    page: int = 1,
) -> Response:
    ctx = await trainee_context(request, session, user)
    if ctx["school"] is None:
        return RedirectResponse("/supervision/bases", status_code=303)
    school_id = ctx["school"].id
    stmt = _published(school_id)
    category_id, major_id = _parse_id(category), _parse_id(major)
    if category_id:
        stmt = stmt.where(Course.category_id == category_id)
    if major_id:
        stmt = stmt.where(Course.major_id == major_id)
    if subject in {s.value for s in SubjectCategory}:
        stmt = stmt.where(Course.subject_category == subject)
    hours_value = _parse_hours(hours)
    if hours_value is not None:
        stmt = stmt.where(Course.hours == hours_value)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Course.title.like(like), Course.teacher.like(like), Course.code.like(like)))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    paging = page_numbers(page, total)
    courses = (
        await session.scalars(
            stmt.options(selectinload(Course.major), selectinload(Course.category))
            .order_by(Course.id)
            .offset((paging["page"] - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    ).all()
    categories = (
        await session.scalars(select(Category).where(Category.school_id == school_id).order_by(Category.sort))
    ).all()
    majors = (await session.scalars(select(Major).order_by(Major.id))).all()
    hour_options = (
        await session.scalars(
            select(Course.hours)
            .where(Course.school_id == school_id, Course.published)
            .distinct()
            .order_by(Course.hours)
        )
    ).all()
    filters = {"category": category_id, "major": major_id, "subject": subject, "hours": hours, "q": q}
    return render(
        request,
        "catalog/list.html",
        {
            **ctx,
            "courses": courses,
            "categories": categories,
            "majors": majors,
            "hour_options": hour_options,
            "subjects": list(SubjectCategory),
            "filters": filters,
            "paging": paging,
            "in_cart": await _cart_course_ids(session, user.id),
        },
        block="results",
    )


@router.get("/courses/{course_id}", response_class=HTMLResponse)
async def course_detail(course_id: int, request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    course = await session.scalar(
        select(Course)
        .where(Course.id == course_id, Course.published)
        .options(
            selectinload(Course.chapters),
            selectinload(Course.major),
            selectinload(Course.category),
            selectinload(Course.school),
        )
    )
    if course is None:
        raise DomainError("CourseUnavailable")
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "catalog/detail.html",
        {**ctx, "course": course, "in_cart": await _cart_course_ids(session, user.id)},
    )


def _published(school_id: int) -> Select[Course]:
    return select(Course).where(Course.school_id == school_id, Course.published)


def _parse_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


def _parse_hours(raw: str) -> Decimal | None:
    try:
        return Decimal(raw) if raw else None
    except InvalidOperation:
        return None


async def _cart_course_ids(session: SessionDep, trainee_id: int) -> set[int]:
    return set((await session.scalars(select(CartItem.course_id).where(CartItem.trainee_id == trainee_id))).all())
