"""Jinja2 set-up: one template per page; htmx requests get only the named block."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks

from db.models.reconciliation import DifferenceStatus, RunStatus
from db.models.tasks import TaskStatus
from db.task_events import ACTION_LABELS
from domain.catalog import PaymentChannel, format_hours, format_money
from domain.courses import STATE_LABELS as COURSE_STATE_LABELS
from domain.personal_invoice import InvoiceState
from domain.reconciliation import DifferenceKind, Resolution
from domain.review import TaskKind

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"
SHANGHAI = ZoneInfo("Asia/Shanghai")

templates = Jinja2Blocks(directory=str(TEMPLATES_DIR))


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).strftime(fmt)


def _money(cents: int | None) -> str:
    return format_money(cents or 0)


def _hours(value: Decimal | float | int | str | None) -> str:
    return format_hours(Decimal(str(value or 0)))


# Every code a page shows by its Chinese name, by kind: `{{ d.kind|label("difference") }}`. Routers
# pass codes, never label tables.
LABELS: dict[str, dict[str, str]] = {
    "channel": {c.value: c.label for c in PaymentChannel},
    "course_state": COURSE_STATE_LABELS,
    "difference": DifferenceKind.LABELS,
    "difference_status": DifferenceStatus.LABELS,
    "invoice": InvoiceState.LABELS,
    "reconciliation_run": RunStatus.LABELS,
    "resolution": Resolution.LABELS,
    "task_action": ACTION_LABELS,
    "task_kind": TaskKind.LABELS,
    "task_status": TaskStatus.LABELS,
}


def label(code: str | None, kind: str) -> str:
    """The code's label (the code itself when it has none, so a new code never blanks a page)."""
    if not code:
        return ""
    return LABELS[kind].get(code, code)


templates.env.filters["label"] = label
templates.env.globals["labels"] = LABELS.__getitem__  # a select's options: labels("task_kind").items()
templates.env.filters["money"] = _money
templates.env.filters["hours"] = _hours
templates.env.filters["localtime"] = local_time


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def redirect(request: Request, url: str) -> Response:
    """After a step completes: htmx follows HX-Redirect, a plain form post a 303."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page; for an htmx request and a given block, only that block (same template)."""
    ctx: dict[str, Any] = {"request": request, "user": getattr(request.state, "user", None)}
    ctx.update(context or {})
    block_name = block if block and is_htmx(request) else None
    response = templates.TemplateResponse(
        request, name, ctx, status_code=status_code, headers=headers, block_name=block_name
    )
    response.headers["Vary"] = "HX-Request"
    return response  # type: ignore[return-value]
