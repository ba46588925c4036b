"""Request dependencies: database session, Temporal client, settings, the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.errors import LoginRequired
from config import Settings
from db.models.users import Role, User
from domain.errors import DomainError


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        yield session


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def release(session: AsyncSession) -> None:
    """Gives the request's database connection back before a wait (on Temporal, or a held status
    request): with many players heartbeating, connections held across waits would exhaust the pool.
    The session can still be used; its next statement takes a connection again."""
    await session.close()
TemporalDep = Annotated[Client, Depends(get_temporal)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_optional_user(request: Request, session: SessionDep) -> User | None:
    uid = request.session.get("uid")
    if uid is None:
        return None
    user = await session.get(User, uid)
    request.state.user = user
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


async def get_trainee(user: OptionalUser) -> User:
    if user is None or user.role != Role.TRAINEE:
        raise LoginRequired()
    return user


async def get_staff(user: OptionalUser) -> User:
    if user is None or not user.is_staff:
        raise LoginRequired(staff=True)
    return user


CurrentTrainee = Annotated[User, Depends(get_trainee)]


async def get_cookie_trainee(request: Request) -> int:
    """The signed-in trainee's id from the signed session cookie alone: the player's heartbeats
    (every trainee, every 30 s) cost no database read for the sign-in. The cookie is signed with
    the app's secret and cleared at logout; a cookie from before the role was kept is checked once
    against the database."""
    uid = request.session.get("uid")
    if uid is None:
        raise LoginRequired()
    role = request.session.get("role")
    if role is None:
        maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
        async with maker() as session:
            user = await session.get(User, uid)
        role = user.role if user is not None else None
    if role != Role.TRAINEE:
        raise LoginRequired()
    return int(uid)


CookieTrainee = Annotated[int, Depends(get_cookie_trainee)]
CurrentStaff = Annotated[User, Depends(get_staff)]


def require_role(*roles: str) -> Callable[..., Any]:
    async def _check(user: CurrentStaff) -> User:
        if user.role not in roles:
            raise DomainError("Forbidden")
        return user

    return _check


def current_school_id(request: Request) -> int | None:
    sid = request.session.get("school_id")
    return int(sid) if sid is not None else None


SchoolIdDep = Annotated[int | None, Depends(current_school_id)]
