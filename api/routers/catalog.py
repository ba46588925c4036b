"""在线选课: the school's home page, the course list with filters, and the course detail."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from api import refcache
from api.deps import CurrentTrainee, SessionDep
from api.pages import PAGE_SIZE, optional_int, page_numbers, trainee_context
from api.templating import render
from db.models.catalog import Course
from domain.catalog import SubjectCategory
from domain.errors import DomainError

router = APIRouter(tags=["catalog"])


@router.get("/home", response_class=HTMLResponse)
async def school_home(request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    ctx = await trainee_context(request, session, user)
    if ctx["school"] is None:
        return RedirectResponse("/supervision/bases", status_code=303)
    school = ctx["school"]
    featured = (
        await session.scalars(_published(school.id).options(joinedload(Course.major)).order_by(Course.id).limit(8))
    ).all()
    return render(
        request,
        "catalog/home.html",
        {
            **ctx,
            "categories": await refcache.categories(session, school.id),
            "courses": featured,
            "in_cart": ctx["cart_ids"],
        },
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
    category_id, major_id = optional_int(category), optional_int(major)
    stmt = _filtered(school_id, category_id, major_id, subject, _parse_hours(hours), q.strip())
    courses, total = await _page_of(session, stmt, page)
    filters = {"category": category_id, "major": major_id, "subject": subject, "hours": hours, "q": q}
    return render(
        request,
        "catalog/list.html",
        {
            **ctx,
            "courses": courses,
            "categories": await refcache.categories(session, school_id),
            "majors": await refcache.majors(session),
            "hour_options": await refcache.hour_options(session, school_id),
            "subjects": list(SubjectCategory),
            "filters": filters,
            "paging": page_numbers(page, total),
            "in_cart": ctx["cart_ids"],
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
            joinedload(Course.major),
            joinedload(Course.category),
            joinedload(Course.school),
        )
    )
    if course is None:
        raise DomainError("CourseNotFound")  # 404: the site's not-found page
    ctx = await trainee_context(request, session, user)
    return render(request, "catalog/detail.html", {**ctx, "course": course, "in_cart": ctx["cart_ids"]})


def _filtered(
    school_id: int, category_id: int | None, major_id: int | None, subject: str, hours: Decimal | None, q: str
) -> Select[Course]:
    stmt = _published(school_id)
    if category_id:
        stmt = stmt.where(Course.category_id == category_id)
    if major_id:
        stmt = stmt.where(Course.major_id == major_id)
    if subject in {s.value for s in SubjectCategory}:
        stmt = stmt.where(Course.subject_category == subject)
    if hours is not None:
        stmt = stmt.where(Course.hours == hours)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Course.title.like(like), Course.teacher.like(like), Course.code.like(like)))
    return stmt


async def _page_of(session: SessionDep, stmt: Select[Course], page: int) -> tuple[list[Course], int]:
    """One query for the page and the total (a window count), a second only past the last page."""
    page = max(page, 1)
    rows = (
        await session.execute(
            stmt.add_columns(func.count().over())
            .options(joinedload(Course.major))
            .order_by(Course.id)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    ).all()
    if rows:
        return [r[0] for r in rows], int(rows[0][1])
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if total and page > 1:  # asked past the end: show the last page
        return await _page_of(session, stmt, -(-total // PAGE_SIZE))
    return [], total


def _published(school_id: int) -> Select[Course]:
    return select(Course).where(Course.school_id == school_id, Course.published)


def _parse_hours(raw: str) -> Decimal | None:
    try:
        return Decimal(raw) if raw else None
    except InvalidOperation:
        return None
