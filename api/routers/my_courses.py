"""我的课程: the trainee's enrollments (the study pages add 开始学习 / 换课 / 退课 on each)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from api.deps import CurrentTrainee, SessionDep
from api.pages import trainee_context
from api.templating import render
from db.models.catalog import Course
from db.models.orders import Enrollment, EnrollmentStatus

router = APIRouter(tags=["my-courses"])


@router.get("/my/courses", response_class=HTMLResponse)
async def my_courses(request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    enrollments = (
        await session.scalars(
            select(Enrollment)
            .where(Enrollment.trainee_id == user.id, Enrollment.status != EnrollmentStatus.WITHDRAWN)
            .options(
                selectinload(Enrollment.course).selectinload(Course.major),
                selectinload(Enrollment.course).selectinload(Course.school),
            )
            .order_by(Enrollment.training_year.desc(), Enrollment.id.desc())
        )
    ).all()
    ctx = await trainee_context(request, session, user)
    return render(
        request, "center/my_courses.html", {**ctx, "enrollments": enrollments, "active": "courses"}, block="list"
    )
