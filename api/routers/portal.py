"""The manual's way in: 个人网厅 → 事管培训平台 → 湖南省事业单位培训监督服务平台 → 继续教育基地专区 → 学校入口."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from api.deps import CurrentTrainee, SessionDep
from api.templating import render
from db.models.catalog import School
from domain.errors import DomainError

router = APIRouter(tags=["portal"])


@router.get("/portal", response_class=HTMLResponse)
async def portal_home(request: Request, user: CurrentTrainee) -> Response:
    return render(request, "portal/portal.html", {"panel": "home"})


@router.get("/portal/training", response_class=HTMLResponse)
async def portal_training(request: Request, user: CurrentTrainee) -> Response:
    return render(request, "portal/portal.html", {"panel": "training"})


@router.get("/supervision", response_class=HTMLResponse)
async def supervision(request: Request, user: CurrentTrainee) -> Response:
    return render(request, "portal/supervision.html", {})


@router.get("/supervision/bases", response_class=HTMLResponse)
async def bases(request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    schools = (await session.scalars(select(School).order_by(School.id))).all()
    return render(request, "portal/bases.html", {"schools": schools})


@router.post("/schools/{code}/enter")
async def enter_school(code: str, request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    school = await session.scalar(select(School).where(School.code == code))
    if school is None:
        raise DomainError("NotFound")
    request.session["school_id"] = school.id
    return RedirectResponse("/home", status_code=303)
