"""Page latency under load (issue 2 §9): 在线课程 (/courses), 购物车 (/cart) and 我的课程 (/my/courses),
each fetched in a loop by 16 signed-in trainees at once for ~10 s. Target: p99 under 100 ms.

Every trainee has three courses in the cart and three enrollments, so the pages show real rows.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.report import Result, latency_results
from bench.stack import Stack, htmx

HELP = "p50/p99 of the catalog, cart and 我的课程 pages under concurrent clients"
PAGES = ("/courses", "/cart", "/my/courses")
CART = ("AGR-01", "AGR-02", "ECO-01")
HELD = ("PUB-01", "PUB-03", "IT-01")
LIMIT_MS = 100.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per page (default 10)")


async def run(stack: Stack, args: argparse.Namespace) -> list[Result]:
    trainees = await stack.make_trainees(args.clients, "浏览学员")
    cart_ids, held_ids = await stack.course_ids(*CART), await stack.course_ids(*HELD)
    for t in trainees:
        await stack.give_enrollments(t, held_ids)
    clients = await stack.sign_in_all(trainees, args.clients)
    results: list[Result] = []
    try:
        await asyncio.gather(*(_fill_cart(c, cart_ids) for c in clients))
        for path in PAGES:
            await _hammer(clients, path, 1.0)  # warm-up: connections, template cache
            cpu0 = stack.cpu_seconds()
            latencies, wall = await _hammer(clients, path, args.duration)
            cpu1 = stack.cpu_seconds()
            results += latency_results(
                "pages", f"GET {path} (c={args.clients})", latencies, limit_ms=LIMIT_MS, wall=wall
            )
            results += [
                Result("pages", f"  CPU per request: {name}", (cpu1[name] - cpu0[name]) * 1000 / len(latencies), "ms")
                for name in ("web", "bench")
            ]
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return results


async def _fill_cart(client: httpx.AsyncClient, course_ids: list[int]) -> None:
    for cid in course_ids:
        added = await client.post("/cart/items", data={"course_id": str(cid)}, headers=htmx(client))
        assert added.status_code == 200, added.text[:300]


async def _hammer(clients: list[httpx.AsyncClient], path: str, duration: float) -> tuple[list[float], float]:
    """Every client fetches `path` back to back until the time is up; each fetch's latency."""
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + duration

    async def loop(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            resp = await client.get(path)
            latencies.append(time.perf_counter() - t0)
            assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text[:200]}"

    await asyncio.gather(*(loop(c) for c in clients))
    return latencies, time.perf_counter() - started
