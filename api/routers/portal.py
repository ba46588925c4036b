"""The manual's way in: 个人网厅 → 事管培训平台 → 湖南省事业单位培训监督服务平台 → 继续教育基地专区 → 学校入口."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from api.deps import CurrentTrainee, SessionDep
from api.templating import render
from db.models.catalog import School
from domain.errors import DomainError

router = APIRouter(tags=["portal"])

FAVICON = Path(__file__).resolve().parents[2] / "web" / "static" / "favicon.ico"


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """Browsers ask every site for /favicon.ico, whatever the page links."""
    return FileResponse(FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/portal", response_class=HTMLResponse)
async def portal_home(request: Request, user: CurrentTrainee) -> Response:
    return render(request, "portal/portal.html", {"panel": "home"})


@router.get("/portal/training", response_class=HTMLResponse)
async def portal_training(request: Request, user: CurrentTrainee) -> Response:
    return render(request, "portal/portal.html", {"panel": "training"})


@router.get("/supervision", response_class=HTMLResponse)
async def supervision(request: Request, user: CurrentTrainee) -> Response:
    return render(request, "portal/supervision.html", {})


@router.get("/supervision/policies", response_class=HTMLResponse)
async def policies(request: Request, user: CurrentTrainee) -> Response:
    """政策文件: the rules the platform follows (人社部规〔2019〕4号 and the province's registry)."""
    return render(request, "portal/policies.html", {})


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
