"""Concurrent study (issue 3 §5): N signed-in trainees each play a course in real time and send the
player's heartbeats through HTTP (`POST /study/{id}/heartbeat` → an Update of their StudyWorkflow).

Reports heartbeat p50/p99 latency (also per 30-second window), errors, the memory of the worker, web
app and Temporal server (peak RSS), CPU per heartbeat, and the workflow history events per chapter
(all events of all runs, per --chapter-seconds of credited study). "Nothing lost" is checked at the
end: every heartbeat answered 200, and each workflow's credited time equals what its trainee's
player last had acknowledged.

Target on the 2-core machine with the dev server: 1,000 sessions at 30-second heartbeats with p99
under 250 ms and nothing lost:

    python -m bench study --n 1000 --duration 300

The courses are bench-only (unpublished), three chapters of --chapter-seconds (default 900 s, the
demo catalogue's shortest), the first one shortened by a different amount per course, as if the
players had joined at random points of a chapter: chapters complete and the next one opens at the
steady-state rate (N / chapter length per second), courses do not complete (a completion renders a
certificate PDF: that is the certificates benchmark's subject). Captchas stay at the configured
10–20 minutes of playback, so they rarely come up in a run of a few minutes; when the stack's
interval is shortened the players answer them through the test hook, as the browser tests do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.report import Result, latency_results
from bench.stack import Stack, bounded, csrf, percentile
from db.models.catalog import Category, Chapter, Course, Major
from domain.study import StudyProgress
from workflows.study import StudyWorkflow, study_workflow_id

HELP = "N trainees heartbeating through HTTP: latency, memory, history events per chapter"
LIMIT_MS = 250.0
COURSE_VARIANTS = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=200, help="concurrent study sessions (default 200; target 1000)")
    parser.add_argument("--duration", type=float, default=150.0, help="seconds of heartbeating (default 150)")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="seconds between heartbeats (default 30)")
    parser.add_argument(
        "--chapter-seconds", type=int, default=900,
        help="length of a chapter (default 900: the demo catalogue's shortest; players start at random points)",
    )


@dataclass
class Player:
    """One trainee's browser: where the server last put it, and what it measured."""

    client: httpx.AsyncClient
    enrollment_id: int
    chapters: list[int]
    index: int = 0
    session_id: str = ""
    position: float = 0.0
    acknowledged: list[float] = field(default_factory=list)  # per chapter, as the server last answered
    done: bool = False


@dataclass
class Tally:
    heartbeats: list[float] = field(default_factory=list)
    beat_times: list[float] = field(default_factory=list)  # when each heartbeat was sent
    opens: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    chapters_done: int = 0
    courses_done: int = 0
    captchas: int = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def run(stack: Stack, args: argparse.Namespace) -> list[Result]:
    courses = await _bench_courses(stack, args.chapter_seconds, args.heartbeat)
    trainees = await stack.make_trainees(args.n, "学习压测")
    players_of: list[tuple[int, list[int]]] = []
    for i, t in enumerate(trainees):
        course_id, chapter_ids = courses[i % len(courses)]
        players_of.append(((await stack.give_enrollments(t, [course_id]))[0], chapter_ids))
    print(f"  signing in {args.n} trainees …", flush=True)
    clients = await stack.sign_in_all(trainees, 16)
    players = [
        Player(c, e, chapter_ids, acknowledged=[0.0] * len(chapter_ids))
        for c, (e, chapter_ids) in zip(clients, players_of, strict=True)
    ]
    tally = Tally()
    peaks: dict[str, float] = {}
    try:
        sampler = asyncio.create_task(_sample_memory(stack, peaks))
        cpu0 = stack.cpu_seconds()
        started = time.perf_counter()
        deadline = started + args.duration
        print(f"  {args.n} players heartbeating every {args.heartbeat:g} s for {args.duration:g} s …", flush=True)
        await asyncio.gather(*(_play(p, args.heartbeat, deadline, tally) for p in players))
        wall = time.perf_counter() - started
        cpu1 = stack.cpu_seconds()
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        check = await _check(stack, players)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))

    beats = max(1, len(tally.heartbeats))
    per_chapter = check.events / max(1.0, check.credited / args.chapter_seconds)
    results = latency_results("study", f"heartbeat (n={args.n}, every {args.heartbeat:g} s)", tally.heartbeats,
                              limit_ms=LIMIT_MS, wall=wall)
    results += latency_results("study", "open chapter", tally.opens or [0.0])[:2]
    results += [
        Result("study", "heartbeats answered", len(tally.heartbeats), ""),
        Result("study", "errors (any non-200 answer)", sum(tally.errors.values()), "", "= 0", not tally.errors),
        Result("study", "sessions whose credit ≠ acknowledged (lost)", check.lost, "", "= 0", check.lost == 0),
        Result("study", "chapters completed during the run", tally.chapters_done, ""),
        Result("study", "history events per heartbeat (all included)", check.events / beats, ""),
        Result("study", f"history events per {args.chapter_seconds:g}-s chapter of study", per_chapter, ""),
        Result("study", "longest history (events, all runs)", check.longest, ""),
    ]
    results += [Result("study", f"peak memory: {name}", mb, "MB") for name, mb in sorted(peaks.items())]
    results += [
        Result("study", f"CPU per heartbeat: {name}", (cpu1[name] - cpu0[name]) * 1000 / beats, "ms")
        for name in ("web", "worker", "temporal", "bench")
        if name in cpu1
    ]
    for what, count in sorted(tally.errors.items()):
        print(f"  error {what}: {count}")
    _print_windows(tally, started)
    return results


def _print_windows(tally: Tally, started: float, width: float = 30.0) -> None:
    """p50/p99 per 30-second window: shows whether slow answers come in bursts."""
    windows: dict[int, list[float]] = {}
    for at, took in zip(tally.beat_times, tally.heartbeats, strict=True):
        windows.setdefault(int((at - started) // width), []).append(took * 1000)
    for n, ms in sorted(windows.items()):
        print(f"  {n * width:5.0f}–{(n + 1) * width:.0f} s: {len(ms):5d} heartbeats, "
              f"p50 {percentile(ms, 50):6.1f} ms, p99 {percentile(ms, 99):7.1f} ms, max {max(ms):7.1f} ms")


async def _play(p: Player, every: float, deadline: float, tally: Tally) -> None:
    """Open the first unfinished chapter, then play it in real time, one heartbeat per period."""
    await asyncio.sleep(random.uniform(0, every))  # the players did not all arrive in the same second
    if not await _open(p, tally):
        return
    last_sent = time.perf_counter()
    while not p.done:
        next_at = last_sent + every
        if next_at > deadline:
            return
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        now = time.perf_counter()
        claim = p.position + (now - last_sent)  # what the video played since the last heartbeat
        last_sent = now
        t0 = time.perf_counter()
        try:
            resp = await p.client.post(
                f"/study/{p.enrollment_id}/heartbeat",
                json={"session_id": p.session_id, "chapter_id": p.chapters[p.index], "position": claim},
                headers=csrf(p.client),
            )
        except httpx.HTTPError as exc:
            tally.error(type(exc).__name__)
            continue
        tally.heartbeats.append(time.perf_counter() - t0)
        tally.beat_times.append(t0)
        body = _json(resp)
        if resp.status_code != 200:
            tally.error(body.get("code", str(resp.status_code)))
            if body.get("ended"):
                return
            p.position = float(body.get("position", p.position))
            continue
        p.position = body["position"]
        p.acknowledged[p.index] = body["position"]
        if body.get("captcha_serial") is not None:
            await _answer_captcha(p, tally)
        if body["chapter_done"]:
            tally.chapters_done += 1
            if body["course_done"]:
                tally.courses_done += 1
                p.done = True
                return
            p.index += 1
            if not await _open(p, tally):
                return
            last_sent = time.perf_counter()


async def _open(p: Player, tally: Tally) -> bool:
    t0 = time.perf_counter()
    resp = await p.client.post(f"/study/{p.enrollment_id}/chapters/{p.chapters[p.index]}/open", json={},
                               headers=csrf(p.client))
    tally.opens.append(time.perf_counter() - t0)
    view = _json(resp)
    if resp.status_code != 200:
        tally.error(f"open: {view.get('code', resp.status_code)}")
        return False
    p.session_id, p.position = view["session_id"], view["position"]
    return True


async def _answer_captcha(p: Player, tally: Tally) -> None:
    """Only when the stack's captcha interval is shortened: read the answer as the browser tests do."""
    hook = await p.client.get(f"/study/{p.enrollment_id}/test-hooks/captcha")
    answer = await p.client.post(f"/study/{p.enrollment_id}/captcha", headers=csrf(p.client),
                                 json={"session_id": p.session_id, "answer": hook.json()["text"]})
    tally.captchas += 1
    if answer.status_code != 200:
        tally.error(f"captcha: {_json(answer).get('code', answer.status_code)}")


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {"code": f"HTTP {resp.status_code}"}
    return body if isinstance(body, dict) else {"code": f"HTTP {resp.status_code}"}


@dataclass
class Check:
    lost: int  # sessions whose workflow credit differs from the player's last acknowledged position
    events: int  # history events of all study workflows (every run)
    credited: float  # seconds of study they credited
    longest: int


async def _check(stack: Stack, players: list[Player]) -> Check:
    async def one(p: Player) -> tuple[bool, int, float]:
        if p.done:
            return False, 0, 0.0  # a finished course's workflow has closed (a query would replay it)
        handle = stack.temporal.get_workflow_handle(study_workflow_id(p.enrollment_id))
        prog: StudyProgress = await handle.query(StudyWorkflow.progress)
        credited = [c.credited for c in prog.chapters]
        lost = any(abs(a - c) > 1e-6 for a, c in zip(p.acknowledged, credited, strict=True))
        return lost, prog.history_events, prog.credited_total

    checked = await bounded(32, [lambda p=p: one(p) for p in players])  # type: ignore[misc]
    return Check(
        lost=sum(1 for lost, _, _ in checked if lost),
        events=sum(e for _, e, _ in checked),
        credited=sum(c for _, _, c in checked),
        longest=max((e for _, e, _ in checked), default=0),
    )


async def _sample_memory(stack: Stack, peaks: dict[str, float]) -> None:
    while True:
        for name, proc in stack.procs.items():
            mb = _rss_mb(proc.pid)
            peaks[name] = max(peaks.get(name, 0.0), mb)
        await asyncio.sleep(2)


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn --workers forks)."""
    total = 0
    family = {pid}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                family.add(int(stat.parent.name))
    for member in family:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


async def _bench_courses(stack: Stack, seconds: int, heartbeat: float) -> list[tuple[int, list[int]]]:
    """Unpublished courses of the demo school: three chapters of ``seconds``, except that the first
    one's length is spread over (heartbeat, seconds) across the courses, as if the players had joined
    at random points of a chapter: chapters then complete at the steady-state rate, not all at once.
    Returns (course id, chapter ids in order) per course."""
    made: list[tuple[int, list[int]]] = []
    async with stack.maker() as session:
        major_id = await session.scalar(select(Major.id).where(Major.name == "农学"))
        category_id = await session.scalar(select(Category.id).where(Category.school_id == 1))
        for k in range(COURSE_VARIANTS):
            first = round(heartbeat + (k + 0.5) * (seconds - heartbeat) / COURSE_VARIANTS)
            course = Course(
                school_id=1, category_id=category_id, major_id=major_id, code=f"BENCH-{uuid.uuid4().hex[:6]}",
                title=f"压测课程{k + 1}", teacher="压测", subject_category="public", hours=Decimal("1"),
                price_cents=100, published=False,
            )
            session.add(course)
            await session.flush()
            rows = [
                Chapter(course_id=course.id, seq=i, title=f"第{i}讲", duration_seconds=d, clip="bench.mp4")
                for i, d in enumerate((first, seconds, seconds), start=1)
            ]
            session.add_all(rows)
            await session.flush()
            made.append((course.id, [c.id for c in rows]))
        await session.commit()
    return made
