"""课程学习: table of contents (开始学习), the player, heartbeats and the captcha (图形验证码).

The player talks JSON to three endpoints. ``open`` goes to the study workflow, which decides the
session's plan. ``heartbeat`` and ``captcha`` advance the session's ledger row with the plan's rules
(``api/study_ledger.py``) and reach the workflow only when the session ends. The captcha's text
never reaches the browser: the image is drawn here from the ledger's pending challenge. Only when
``settings.test_hooks`` is on does a hook reveal it.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError

from api.deps import CookieTrainee, CurrentTrainee, SessionDep, SettingsDep, TemporalDep
from api.errors import message_for_update_failure
from api.limits import INT_MAX
from api.pages import trainee_context
from api.study_ledger import Advanced, advance, deliver, deliver_later, pending_captcha
from api.study_service import check_one_course, own_enrollment, progress, send_to_study
from api.templating import redirect, render
from db.models.orders import EnrollmentStatus
from domain import study_ledger as rules
from domain.errors import MESSAGES, DomainError
from domain.study import EndReason, OpenSession, SessionView
from domain.study_ledger import view_of
from media.captcha_image import captcha_png
from workflows.study import StudyWorkflow

router = APIRouter(tags=["study"])

# Codes after which the player leaves the page (the session is over); others it can live with.
SESSION_OVER = {"SessionEnded", "SessionReplaced", "CaptchaTimeout", "CaptchaTooManyWrong", "CourseCompleted",
                "CourseWithdrawn", "NotFound", "OneCourseAtATime", "ChapterLocked", "ChapterDone"}


MAX_POSITION_SECONDS = 24 * 3600  # no chapter plays for a day; also keeps inf/NaN out


class HeartbeatIn(BaseModel):
    session_id: str = Field(max_length=64)
    chapter_id: int = Field(ge=1, le=INT_MAX)
    position: float = Field(ge=0, le=MAX_POSITION_SECONDS, allow_inf_nan=False)
    hidden: bool = False  # the page is hidden (visibilitychange): the player paused
    closing: bool = False  # the page is being closed (pagehide): the session ends with this beat


class CaptchaIn(BaseModel):
    session_id: str = Field(max_length=64)
    answer: str = Field(default="", max_length=16)


# ---- pages ---------------------------------------------------------------------------------------


@router.get("/study/{enrollment_id}", response_class=HTMLResponse)
async def table_of_contents(
    enrollment_id: int,
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    notice: str = "",
) -> Response:
    """开始学习: the course's chapters in order, each with its duration and progress."""
    enrollment = await own_enrollment(session, user, enrollment_id)
    if enrollment.status != EnrollmentStatus.COMPLETED:
        await check_one_course(session, user.id, enrollment.id)
    prog = await progress(client, session, enrollment)
    ctx = await trainee_context(request, session, user)
    flash, kind = _notice(notice)
    return render(
        request,
        "study/toc.html",
        {**ctx, "enrollment": enrollment, "course": enrollment.course, "progress": prog, "active": "courses",
         "flash": flash, "flash_kind": kind},
    )


@router.get("/study/{enrollment_id}/start")
async def start(enrollment_id: int, request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    """开始学习 from 我的课程: refused right there (message in the page) while another course is started
    and not finished; otherwise on to the table of contents."""
    enrollment = await own_enrollment(session, user, enrollment_id)
    if enrollment.status != EnrollmentStatus.COMPLETED:
        await check_one_course(session, user.id, enrollment.id)
    return redirect(request, f"/study/{enrollment.id}")


@router.get("/study/{enrollment_id}/chapters/{chapter_id}", response_class=HTMLResponse)
async def player(
    enrollment_id: int,
    chapter_id: int,
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """The player. A finished chapter plays for review (nothing is credited); the chapter to study
    opens a session from the page's script; a later chapter is locked."""
    enrollment = await own_enrollment(session, user, enrollment_id)
    if enrollment.status != EnrollmentStatus.COMPLETED:
        await check_one_course(session, user.id, enrollment.id)
    prog = await progress(client, session, enrollment)
    chapters = enrollment.course.chapters
    index = next((i for i, c in enumerate(chapters) if c.id == chapter_id), None)
    if index is None:
        raise DomainError("NotFound")
    view = prog.chapters[index]
    if not view.done and not view.open:
        raise DomainError("ChapterLocked")
    following = chapters[index + 1] if index + 1 < len(chapters) else None
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "study/player.html",
        {
            **ctx,
            "enrollment": enrollment,
            "course": enrollment.course,
            "chapter": chapters[index],
            "view": view,
            "review": view.done,
            "next_chapter": following,
            "heartbeat_seconds": settings.heartbeat_seconds,
            "active": "courses",
        },
    )


# ---- the player's JSON endpoints -----------------------------------------------------------------


@router.post("/study/{enrollment_id}/chapters/{chapter_id}/open")
async def open_session(
    enrollment_id: int,
    chapter_id: int,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Response:
    try:
        enrollment = await own_enrollment(session, user, enrollment_id)
        trainee_id = user.id
        view = await send_to_study(
            client,
            settings,
            session,
            enrollment,
            StudyWorkflow.open_session,
            OpenSession(trainee_id, chapter_id),
            trainee_name=user.name,
        )
    except (DomainError, WorkflowUpdateFailedError) as err:
        return _refusal(err, enrollment_id)
    return JSONResponse(_view_json(view))


@router.post("/study/{enrollment_id}/heartbeat")
async def heartbeat(
    enrollment_id: int, body: HeartbeatIn, request: Request, trainee_id: CookieTrainee, client: TemporalDep
) -> Response:
    """Hot path (every player, every heartbeat_seconds): the sign-in from the signed cookie, one read
    and one conditional write of the ledger row; Temporal only when the session ends."""
    rule = rules.close if body.closing else partial(rules.beat, hidden=body.hidden)
    try:
        done = await advance(
            request.app.state.engine,
            enrollment_id,
            lambda live, now: rule(live, now=now, claimed=body.position),
            trainee_id=trainee_id,
            session_id=body.session_id,
        )
    except DomainError as err:
        return _refusal(err, enrollment_id)
    return await _answer(request, client, enrollment_id, done)


@router.post("/study/{enrollment_id}/captcha")
async def answer_captcha(
    enrollment_id: int, body: CaptchaIn, request: Request, trainee_id: CookieTrainee, client: TemporalDep
) -> Response:
    try:
        done = await advance(
            request.app.state.engine,
            enrollment_id,
            lambda live, now: rules.answer(live, now=now, text=body.answer),
            trainee_id=trainee_id,
            session_id=body.session_id,
        )
    except DomainError as err:
        return _refusal(err, enrollment_id)
    if done.step.wrong:
        view = _view_json(view_of(done.step.live, done.step.live.last_seen_at))
        return JSONResponse({**view, "code": "CaptchaWrong", "message": MESSAGES["CaptchaWrong"]}, status_code=422)
    return await _answer(request, client, enrollment_id, done)


@router.get("/study/{enrollment_id}/captcha.png")
async def captcha_image(enrollment_id: int, request: Request, trainee_id: CookieTrainee) -> Response:
    text, _ = await pending_captcha(request.app.state.sessionmaker, enrollment_id, trainee_id)
    png = await asyncio.to_thread(captcha_png, text)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/study/{enrollment_id}/test-hooks/captcha")
async def captcha_test_hook(enrollment_id: int, request: Request, trainee_id: CookieTrainee) -> Response:
    """Browser tests read the expected answer here. Exists only while settings.test_hooks is on."""
    if not request.app.state.settings.test_hooks:
        raise DomainError("NotFound")
    text, serial = await pending_captcha(request.app.state.sessionmaker, enrollment_id, trainee_id)
    return JSONResponse({"text": text, "serial": serial})


# ---- helpers -------------------------------------------------------------------------------------


async def _answer(request: Request, client: TemporalDep, enrollment_id: int, done: Advanced) -> Response:
    """The player's answer to a heartbeat or a captcha answer, from the ledger. A session that just
    ended is reported to the workflow without waiting, except the one that completes the course: it
    waits (up to REPORT_WAIT_SECONDS) until the workflow has recorded it, so 我的课程 shows it."""
    step = done.step
    if done.report is not None:
        maker = request.app.state.sessionmaker
        if step.live.plan.completes_course and done.report.reason == EndReason.CHAPTER_DONE:
            await deliver(client, maker, enrollment_id, done.report, wait=True)
        else:
            deliver_later(client, maker, enrollment_id, done.report)
    if step.refusal is not None:
        position = step.live.credited if step.refusal == "SeekNotAllowed" else None
        return _refusal(DomainError(step.refusal), enrollment_id, position=position)
    return JSONResponse(_view_json(view_of(step.live, step.live.last_seen_at)))


def _refusal(err: Exception, enrollment_id: int, position: float | None = None) -> JSONResponse:
    if isinstance(err, WorkflowUpdateFailedError):
        code, message = message_for_update_failure(err)
    elif isinstance(err, DomainError):
        code, message = err.code, err.message
    else:  # pragma: no cover - only the two above are passed
        code, message = "Unknown", MESSAGES.get("SessionEnded", "")
    body: dict[str, Any] = {"code": code, "message": message, "ended": code in SESSION_OVER}
    if body["ended"]:
        body["redirect"] = f"/study/{enrollment_id}?notice={code}"
    if position is not None:
        body["position"] = position
    return JSONResponse(body, status_code=409)


def _view_json(view: SessionView) -> dict[str, Any]:
    return asdict(view)


def _notice(code: str) -> tuple[str | None, str]:
    """A message carried over from the player when it left the page (known codes only)."""
    if code in MESSAGES:
        return MESSAGES[code], "warn"
    return None, "info"
