"""Helpers the tests share: signing in through the real pages, making users, waiting for a state."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from core.passwords import hash_password
from db.models.users import Role, User
from domain.credit_code import make_credit_code

T = TypeVar("T")
_serial = itertools.count(1)


async def make_trainee(maker: async_sessionmaker[AsyncSession], name: str = "测试学员") -> User:
    """A fresh trainee per test keeps tests independent on a shared database."""
    n = next(_serial)
    async with maker() as session:
        user = User(
            role=Role.TRAINEE,
            name=f"{name}{n}",
            phone=f"139{n:08d}",
            id_card="430102199001011234",
            unit_name=f"测试单位{n}",
            unit_credit_code=make_credit_code(f"12430000MB{n:07d}"),
        )
        session.add(user)
        await session.commit()
        return user


async def make_staff(
    maker: async_sessionmaker[AsyncSession], role: str, school_id: int | None = None, password: str = "Pass@1234"
) -> User:
    n = next(_serial)
    async with maker() as session:
        user = User(
            role=role,
            username=f"{role}{n}",
            password_hash=hash_password(password),
            name=f"审核员{n}",
            school_id=school_id,
        )
        session.add(user)
        await session.commit()
        return user


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies.get("csrftoken") or ""}


async def login_trainee(client: httpx.AsyncClient, user: User) -> None:
    """The QR flow: open the login page, confirm on the 'phone', let the desktop poll sign in."""
    page = await client.get("/login")
    token = re.search(r"/m/login/([\w-]+)", page.text)
    assert token, "login page shows no QR link"
    confirm = await client.post(f"/m/login/{token.group(1)}", data={"user_id": user.id}, headers=csrf(client))
    assert "登录成功" in confirm.text
    poll = await client.get(f"/login/poll/{token.group(1)}", headers={"HX-Request": "true"})
    assert poll.headers.get("HX-Redirect") == "/portal", poll.text


async def login_staff(client: httpx.AsyncClient, user: User, password: str = "Pass@1234") -> None:
    await client.get("/staff/login")
    resp = await client.post(
        "/staff/login", data={"username": user.username, "password": password}, headers=csrf(client)
    )
    assert resp.status_code == 303, resp.text


async def enter_school(client: httpx.AsyncClient, code: str = "hunau") -> None:
    resp = await client.post(f"/schools/{code}/enter", headers=csrf(client))
    assert resp.status_code == 303


def htmx(client: httpx.AsyncClient) -> dict[str, str]:
    return {**csrf(client), "HX-Request": "true"}


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 15.0, interval: float = 0.1) -> T:
    """Polls until `check` returns something truthy: projections are written by activities."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


@asynccontextmanager
async def staff_client(app: Any, staff: User, password: str = "Pass@1234") -> AsyncIterator[httpx.AsyncClient]:
    """A second browser, signed in as a staff member (its own session cookie)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", follow_redirects=False) as c:
        await login_staff(c, staff, password)
        yield c


async def run_as_activity(workflow_id: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Calls an activity method directly, as the worker would for the workflow `workflow_id`."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=workflow_id)
    return await env.run(fn, *args)
