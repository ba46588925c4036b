"""FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from api import errors
from api.limits import check_input_limits
from api.metrics import MetricsMiddleware
from api.security import CSRFCookieMiddleware, csrf_protect
from api.settlements import Settlements
from api.study_ledger import StudySweeper
from config import Settings, get_settings
from core.temporal_client import connect
from db.base import make_engine, make_sessionmaker
from gateways.notifier import start_notifier
from runtime import tune_gc

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


def start_sweeper(app: FastAPI) -> Callable[[], Awaitable[None]]:
    """The study ledger's sweeper as a task of this process; returns its stop."""
    settings: Settings = app.state.settings
    sweeper = StudySweeper(app.state.engine, app.state.sessionmaker, app.state.temporal, settings.study_sweep_seconds)
    app.state.study_sweeper = sweeper
    stop = asyncio.Event()
    task = asyncio.create_task(sweeper.run_forever(stop))

    async def stopper() -> None:
        stop.set()
        await task

    return stopper


def create_app(settings: Settings | None = None, temporal_client: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.temporal = temporal_client or await connect(settings)
        app.state.settlements = Settlements()  # wakes pay pages waiting for their order's payment
        stop_notifier = start_notifier(app)  # the payment simulator's notification sender
        stop_sweeper = start_sweeper(app)  # study sessions past their deadline; reports not yet heard
        tune_gc()
        yield
        await stop_sweeper()
        await stop_notifier()
        await engine.dispose()

    app = FastAPI(
        title="湖南省事业单位人员培训平台",
        lifespan=lifespan,
        dependencies=[Depends(csrf_protect), Depends(check_input_limits)],
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="session",
        same_site="lax",
        https_only=settings.base_url.startswith("https"),
        max_age=8 * 3600,
    )
    app.add_middleware(CSRFCookieMiddleware)
    app.add_middleware(MetricsMiddleware)  # outermost of ours: times every request whole
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/media", StaticFiles(directory=settings.media_dir, check_dir=False), name="media")
    _include_routers(app)
    return app


def _include_routers(app: FastAPI) -> None:
    # One line per area; keep this list in the manual's order.
    from api.routers import (
        auth,
        cart,
        cashier,
        catalog,
        certificates,
        courses,
        hours,
        inbox,
        invoices,
        my_courses,
        notices,
        orders,
        payments,
        paysim,
        paysim_wire,
        portal,
        reconciliation,
        study,
        unit_invoice,
        unit_qualification,
        units,
    )

    app.include_router(auth.router)
    app.include_router(portal.router)
    app.include_router(catalog.router)
    app.include_router(cart.router)
    app.include_router(orders.router)
    app.include_router(cashier.router)
    app.include_router(paysim.router)
    app.include_router(payments.router)
    app.include_router(my_courses.router)
    app.include_router(study.router)
    app.include_router(certificates.router)
    app.include_router(invoices.router)
    app.include_router(unit_qualification.router)
    app.include_router(unit_invoice.router)
    app.include_router(hours.router)
    app.include_router(inbox.router)
    app.include_router(courses.router)
    app.include_router(units.router)
    app.include_router(notices.router)
    app.include_router(paysim_wire.router)
    app.include_router(reconciliation.router)
    # operations: probes and Prometheus metrics (docs/OPERATIONS.md)
    from api import metrics
    from api.routers import health

    app.include_router(health.router)
    app.include_router(metrics.router)
    from api.routers import inbox_volume  # 批量处理, 常用筛选, 评论, 改派 (docs/INBOX.md)

    app.include_router(inbox_volume.router)
