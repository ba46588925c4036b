"""我的课程: the trainee's enrollments with 开始学习 / 换课 / 退课 on each, and the 换课 page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from api.deps import CurrentTrainee, SessionDep, SettingsDep, TemporalDep
from api.pages import paginate, trainee_context
from api.study_service import course_ref, course_with_chapters, own_enrollment, send_to_study
from api.templating import redirect, render
from db.models.catalog import Course
from db.models.orders import Enrollment, EnrollmentStatus, Refund
from domain.errors import DomainError
from domain.study import SwapRequest, WithdrawRequest
from workflows.study import StudyWorkflow

router = APIRouter(tags=["my-courses"])

NOTICES = {
    "swapped": "换课成功，原有课程已更换为新课程。",
    "withdrawn": "退课成功，课程费用将原路退回到原支付账号（支付宝或微信），可在支付中心查看退款。",
}


@router.get("/my/courses", response_class=HTMLResponse)
async def my_courses(request: Request, user: CurrentTrainee, session: SessionDep, notice: str = "") -> Response:
    enrollments = (
        await session.scalars(
            select(Enrollment)
            .where(Enrollment.trainee_id == user.id, Enrollment.status != EnrollmentStatus.WITHDRAWN)
            .options(
                joinedload(Enrollment.course).joinedload(Course.major),
                joinedload(Enrollment.course).joinedload(Course.school),
            )
            .order_by(Enrollment.training_year.desc(), Enrollment.id.desc())
        )
    ).all()
    ctx = await trainee_context(request, session, user)
    flash = NOTICES.get(notice)
    if notice == "withdrawn" and (number := await _latest_withdraw_refund(session, user.id)):
        flash = f"{flash}退款单号：{number}。"
    return render(
        request,
        "center/my_courses.html",
        {**ctx, "enrollments": enrollments, "active": "courses", "flash": flash, "flash_kind": "success"},
        block="list",
    )


async def _latest_withdraw_refund(session: SessionDep, trainee_id: int) -> str | None:
    """The 退款单号 of the trainee's latest 退课 (recorded with the withdrawal itself)."""
    refund = await session.scalar(
        select(Refund)
        .join(Enrollment, Enrollment.id == Refund.enrollment_id)
        .where(Enrollment.trainee_id == trainee_id, Refund.reason == "withdraw")
        .order_by(Enrollment.withdrawn_at.desc(), Refund.created_at.desc())
        .limit(1)
    )
    return refund.shown_no if refund else None


@router.get("/my/courses/{enrollment_id}/swap", response_class=HTMLResponse)
async def swap_page(
    enrollment_id: int, request: Request, user: CurrentTrainee, session: SessionDep, page: int = 1
) -> Response:
    """换课: the courses of the same school, major and hours this one may be exchanged for."""
    enrollment = await own_enrollment(session, user, enrollment_id)
    if enrollment.status != EnrollmentStatus.NOT_STARTED:
        raise DomainError("SwapOnlyUnstudied")
    course = enrollment.course
    base = select(Course).where(
        Course.school_id == course.school_id,
        Course.major_id == course.major_id,
        Course.hours == course.hours,
        Course.published,
        Course.id != course.id,
    )
    candidates, paging = await paginate(
        session, base, page, order_by=[Course.code], options=[selectinload(Course.major)]
    )
    held = set(
        (
            await session.scalars(
                select(Enrollment.course_id).where(
                    Enrollment.trainee_id == user.id,
                    Enrollment.training_year == enrollment.training_year,
                    Enrollment.status != EnrollmentStatus.WITHDRAWN,
                )
            )
        ).all()
    )
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "center/swap.html",
        {**ctx, "enrollment": enrollment, "course": course, "candidates": candidates, "held": held,
         "paging": paging, "active": "courses"},
    )


@router.post("/my/courses/{enrollment_id}/swap")
async def swap(
    enrollment_id: int,
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    course_id: Annotated[int, Form()],
) -> Response:
    enrollment = await own_enrollment(session, user, enrollment_id)
    new_course = await course_with_chapters(session, course_id)
    if new_course is None or not new_course.published:
        raise DomainError("CourseUnavailable")
    await send_to_study(
        client,
        settings,
        session,
        enrollment,
        StudyWorkflow.swap,
        SwapRequest(user.id, course_ref(new_course)),
        trainee_name=user.name,
    )
    return redirect(request, "/my/courses?notice=swapped")


@router.post("/my/courses/{enrollment_id}/withdraw")
async def withdraw(
    enrollment_id: int,
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """退课: the workflow marks the enrollment withdrawn and starts the refund (once, however often
    this is pressed)."""
    enrollment = await session.scalar(
        select(Enrollment)
        .where(Enrollment.id == enrollment_id, Enrollment.trainee_id == user.id)
        .options(selectinload(Enrollment.course).selectinload(Course.chapters))
    )
    if enrollment is None:
        raise DomainError("NotFound")
    if enrollment.status != EnrollmentStatus.WITHDRAWN:
        try:
            await send_to_study(
                client,
                settings,
                session,
                enrollment,
                StudyWorkflow.withdraw,
                WithdrawRequest(user.id),
                trainee_name=user.name,
            )
        except DomainError as err:
            if err.code != "CourseWithdrawn":
                raise
    # a second press after the first went through ends here too: the course is withdrawn, once
    return redirect(request, "/my/courses?notice=withdrawn")
