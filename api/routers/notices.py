"""消息中心: the trainee's notices (written by the workflows' activities), the unread badge in the
header, and marking as read (the one thing the web layer writes here: the trainee's own read state)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import CurrentTrainee, SessionDep
from api.pages import page_numbers
from api.templating import is_htmx, render
from db.base import utcnow
from db.models.notices import Notice
from db.models.users import User
from domain.errors import DomainError

router = APIRouter(tags=["notices"])
PAGE_SIZE = 20
CHANGED = {"HX-Trigger": "noticeChanged"}


async def unread_count(session: AsyncSession, user_id: int) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(Notice).where(Notice.user_id == user_id, Notice.read_at.is_(None))
        )
        or 0
    )


async def _list(
    request: Request, session: AsyncSession, user: User, page: int, headers: dict[str, str] | None = None
) -> Response:
    total = await session.scalar(select(func.count()).select_from(Notice).where(Notice.user_id == user.id)) or 0
    paging = page_numbers(page, total, PAGE_SIZE)
    notices = (
        await session.scalars(
            select(Notice)
            .where(Notice.user_id == user.id)
            .order_by(Notice.created_at.desc(), Notice.id.desc())
            .offset((paging["page"] - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    ).all()
    return render(
        request,
        "notices/list.html",
        {"notices": notices, "paging": paging, "unread": await unread_count(session, user.id), "active": "notices"},
        block="notices",
        headers=headers,
    )


@router.get("/my/notices", response_class=HTMLResponse)
async def notices_page(request: Request, user: CurrentTrainee, session: SessionDep, page: int = 1) -> Response:
    return await _list(request, session, user, page)


@router.get("/my/notices/count", response_class=HTMLResponse)
async def notices_count(user: CurrentTrainee, session: SessionDep) -> Response:
    """The header badge: the unread count, or nothing."""
    count = await unread_count(session, user.id)
    return HTMLResponse(str(count) if count else "")


async def _own(session: AsyncSession, user: User, notice_id: int) -> Notice:
    notice = await session.scalar(select(Notice).where(Notice.id == notice_id, Notice.user_id == user.id))
    if notice is None:  # another trainee's notice is indistinguishable from a missing one
        raise DomainError("NoticeNotFound")
    return notice


async def _mark_read(session: AsyncSession, user: User, notice_ids: list[int] | None) -> None:
    stmt = update(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
    if notice_ids is not None:
        stmt = stmt.where(Notice.id.in_(notice_ids))
    await session.execute(stmt.values(read_at=utcnow()))
    await session.commit()


@router.post("/my/notices/{notice_id}/read")
async def read_notice(
    notice_id: int, request: Request, user: CurrentTrainee, session: SessionDep, page: Annotated[int, Form()] = 1
) -> Response:
    await _own(session, user, notice_id)
    await _mark_read(session, user, [notice_id])
    if not is_htmx(request):
        return RedirectResponse(f"/my/notices?page={page}", status_code=303)
    return await _list(request, session, user, page, headers=CHANGED)


@router.post("/my/notices/read-all")
async def read_all(
    request: Request, user: CurrentTrainee, session: SessionDep, page: Annotated[int, Form()] = 1
) -> Response:
    await _mark_read(session, user, None)
    if not is_htmx(request):
        return RedirectResponse(f"/my/notices?page={page}", status_code=303)
    return await _list(request, session, user, page, headers=CHANGED)


@router.get("/my/notices/{notice_id}/open")
async def open_notice(notice_id: int, user: CurrentTrainee, session: SessionDep) -> Response:
    """The notice's link: marks it read on the way to what it is about."""
    notice = await _own(session, user, notice_id)
    link = notice.link if notice.link.startswith("/") and not notice.link.startswith("//") else "/my/notices"
    await _mark_read(session, user, [notice_id])
    return RedirectResponse(link, status_code=303)
