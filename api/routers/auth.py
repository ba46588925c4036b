"""学员登录: a QR code the portal app scans; staff log in with a password."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select, update

from api.deps import OptionalUser, SessionDep, SettingsDep
from api.templating import render
from db.base import utcnow
from db.models.users import LoginTicket, Role, User
from media.qr import qr_data_uri

router = APIRouter(tags=["auth"])


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    ticket = LoginTicket(
        token=secrets.token_urlsafe(24),
        expires_at=utcnow() + timedelta(seconds=settings.login_qr_ttl_seconds),
    )
    session.add(ticket)
    await session.commit()
    scan_url = f"{settings.base_url}/m/login/{ticket.token}"
    return render(
        request,
        "auth/login.html",
        {"ticket": ticket, "scan_url": scan_url, "qr": qr_data_uri(scan_url), "ttl": settings.login_qr_ttl_seconds},
    )


@router.get("/login/poll/{token}", response_class=HTMLResponse)
async def login_poll(token: str, request: Request, session: SessionDep) -> Response:
    """Polled by the desktop page: confirmed -> signs in and moves on; expired -> says so."""
    ticket = await session.get(LoginTicket, token)
    if ticket is None or ticket.status == "used":
        return render(request, "auth/login.html", {"state": "expired"}, block="qr_state", status_code=200)
    if ticket.status == "confirmed" and ticket.user_id is not None:
        # one-shot: a second poll with the same token cannot sign anybody in again
        used = await session.execute(
            update(LoginTicket)
            .where(LoginTicket.token == token, LoginTicket.status == "confirmed")
            .values(status="used")
        )
        await session.commit()
        if used.rowcount != 1:  # type: ignore[attr-defined]
            return render(request, "auth/login.html", {"state": "expired"}, block="qr_state")
        request.session.clear()
        request.session["uid"] = ticket.user_id
        request.session["role"] = Role.TRAINEE  # the player's heartbeats trust the signed cookie alone
        return Response(status_code=204, headers={"HX-Redirect": "/portal"})
    if ticket.expires_at <= utcnow():
        return render(request, "auth/login.html", {"state": "expired"}, block="qr_state")
    return render(request, "auth/login.html", {"state": "waiting", "ticket": ticket}, block="qr_state")


@router.get("/m/login/{token}", response_class=HTMLResponse)
async def phone_confirm_page(token: str, request: Request, session: SessionDep) -> Response:
    """What the portal app shows after scanning: which account, and 确认登录."""
    ticket = await session.get(LoginTicket, token)
    expired = ticket is None or ticket.status != "pending" or ticket.expires_at <= utcnow()
    trainees = (await session.scalars(select(User).where(User.role == Role.TRAINEE).order_by(User.id))).all()
    return render(request, "auth/phone_confirm.html", {"token": token, "expired": expired, "trainees": trainees})


@router.post("/m/login/{token}", response_class=HTMLResponse)
async def phone_confirm(token: str, request: Request, session: SessionDep, user_id: Annotated[int, Form()]) -> Response:
    trainee = await session.get(User, user_id)
    ok = False
    if trainee is not None and trainee.role == Role.TRAINEE:
        result = await session.execute(
            update(LoginTicket)
            .where(LoginTicket.token == token, LoginTicket.status == "pending", LoginTicket.expires_at > utcnow())
            .values(status="confirmed", user_id=trainee.id)
        )
        await session.commit()
        ok = result.rowcount == 1  # type: ignore[attr-defined]
    return render(request, "auth/phone_confirm.html", {"token": token, "done": ok, "expired": not ok})


STAFF_HOMES = {Role.COURSE_ADMIN: "/staff/courses", Role.UNIT_ADMIN: "/unit/roster"}


def staff_home(user: User) -> str:
    """Where a staff member lands: 课程管理, the unit's roster, or (every reviewer) the inbox."""
    return STAFF_HOMES.get(user.role, "/staff/tasks")


@router.get("/staff/login", response_class=HTMLResponse)
async def staff_login_page(request: Request) -> Response:
    return render(request, "auth/staff_login.html", {})


@router.post("/staff/login", response_class=HTMLResponse)
async def staff_login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    from core.passwords import verify_password

    user = await session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.is_staff or not verify_password(user.password_hash, password):
        return render(
            request, "auth/staff_login.html", {"error": "用户名或密码错误", "username": username}, status_code=401
        )
    request.session.clear()
    request.session["uid"] = user.id
    return RedirectResponse(staff_home(user), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
async def root(user: OptionalUser, request: Request) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if user.is_staff:
        return RedirectResponse(staff_home(user), status_code=303)
    if request.session.get("school_id") is None:
        return RedirectResponse("/portal", status_code=303)
    return RedirectResponse("/home", status_code=303)
