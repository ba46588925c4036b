"""Operations endpoints: the probes (/healthz, /readyz with the database or Temporal down), the web
app's Prometheus metrics by route template, and the worker's SDK metrics server."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.client import Client
from temporalio.worker import Worker

from config import Settings
from core.telemetry import worker_runtime
from tests.support import eventually
from tests.workflows.review_probe import ProbeReviewWorkflow


@pytest.fixture
async def raw(app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_healthz_answers_while_the_process_is_up(raw: httpx.AsyncClient) -> None:
    response = await raw.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_database_and_temporal_answer(raw: httpx.AsyncClient) -> None:
    response = await raw.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "temporal": "ok"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def replaced(app, name: str, value: object) -> Iterator[None]:
    """Swaps one of the app's connections for the length of a test."""
    saved = getattr(app.state, name)
    setattr(app.state, name, value)
    try:
        yield
    finally:
        setattr(app.state, name, saved)


async def test_readyz_names_temporal_when_it_is_down(app, raw: httpx.AsyncClient) -> None:
    # a client of a server that is not there (lazy: the connection is tried on the first call)
    down = await Client.connect(f"127.0.0.1:{_closed_port()}", lazy=True)
    with replaced(app, "temporal", down):
        response = await raw.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "ok", "temporal": "down"}
    assert (await raw.get("/healthz")).status_code == 200  # the process itself is still up


async def test_readyz_names_the_database_when_it_is_down(
    app, raw: httpx.AsyncClient, settings: Settings, tmp_path
) -> None:
    if settings.database_url.startswith("postgresql"):
        url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none"
    else:  # a folder that does not exist: SQLite cannot open the file
        url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / uuid.uuid4().hex / 'app.db'}"
    engine = create_async_engine(url)
    try:
        with replaced(app, "engine", engine):
            response = await raw.get("/readyz")
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "down", "temporal": "ok"}


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _value(text: str, name: str, **labels: str) -> float:
    return _samples(text, name).get(tuple(sorted(labels.items())), 0.0)


async def test_metrics_count_requests_by_route_template_not_raw_path(raw: httpx.AsyncClient) -> None:
    before = (await raw.get("/metrics")).text
    for no in ("A1", "B2", "C3"):  # three different orders: one route
        await raw.get(f"/verify/{no}")
    await raw.get(f"/no-such-page-{uuid.uuid4().hex}")
    after = await raw.get("/metrics")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    text = after.text
    route = "/verify/{code}"
    counted = [
        _value(text, "http_requests_total", method="GET", route=route, status=status)
        - _value(before, "http_requests_total", method="GET", route=route, status=status)
        for status in ("200", "404")
    ]
    assert sum(counted) == 3
    assert _value(text, "http_request_duration_seconds_count", method="GET", route=route) >= 3
    unmatched = _value(text, "http_requests_total", method="GET", route="<unmatched>", status="404")
    assert unmatched >= 1
    assert not any("A1" in dict(labels).get("route", "") for labels in _samples(text, "http_requests_total"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_worker_serves_the_sdk_metrics_where_configured(temporal_env, settings: Settings) -> None:
    address = f"127.0.0.1:{_free_port()}"
    runtime = worker_runtime(settings.model_copy(update={"worker_metrics_address": address}))
    assert runtime is not None
    target = temporal_env.client.service_client.config.target_host
    client = await Client.connect(target, runtime=runtime)
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ProbeReviewWorkflow], activities=[]):

        async def scraped() -> str | None:
            async with httpx.AsyncClient() as http:
                try:
                    body = (await http.get(f"http://{address}/metrics")).text
                except httpx.HTTPError:
                    return None
            return body if "temporal_" in body else None

        body = await eventually(scraped, timeout=20)
    # the SDK core's own series, labelled with the task queue this worker polls
    assert f'task_queue="{queue}"' in body
    assert "temporal_worker_start" in body or "temporal_num_pollers" in body


def test_no_runtime_without_an_address(settings: Settings) -> None:
    assert worker_runtime(settings.model_copy(update={"worker_metrics_address": ""})) is None
