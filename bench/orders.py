"""Orders per second, end to end through HTTP, against a bare one-activity workflow (issue 2 §9).

Each order is what a trainee's browser does: checkout one course (`POST /orders`: update-with-start
of the order workflow), open the trade (`POST /cashier/{no}/next`: an Update that calls the payment
provider), pay on the simulator's phone page (`POST /paysim/scan/{trade}/pay`: the simulator then
posts its signed notification to the app, which hands it to the workflow as an Update answered once
its activity has made the enrollment and marked the order paid), and wait on the order's status as
the QR page does (the request is held until the payment is in) until 我的课程 shows the course.
Every order is a different trainee, so none is refused as already held.

On the 2-core machine this was written on, orders are bound by CPU (all processes, the load client
included, share the cores) while the bare workflow at the same concurrency is bound by its latency;
the CPU-per-item rows say where the time goes.

The baseline starts and awaits `BareWorkflow` (one no-op activity) the same number of times with
the same concurrency, on the same Temporal server and worker. Target: orders ≥ half the bare rate.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
import uuid
from datetime import date
from functools import partial

import httpx
from sqlalchemy import func, select

from bench.bare import BareWorkflow
from bench.report import Result, latency_results
from bench.stack import Stack, bounded, htmx
from db.models.orders import Enrollment

HELP = "checkout → paid → enrolled through HTTP vs a bare one-activity workflow"
COURSE = "PUB-02"
WARM_UP = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=100, help="orders, and bare workflows (default 100)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients in flight (default 16)")


async def run(stack: Stack, args: argparse.Namespace) -> list[Result]:
    n, concurrency = args.n, args.concurrency
    [course_id] = await stack.course_ids(COURSE)

    await _bare(stack, WARM_UP * 2, concurrency)
    cpu0 = stack.cpu_seconds()
    bare_wall, bare_lat = await _bare(stack, n, concurrency)
    bare_cpu = _cpu_per_item(cpu0, stack.cpu_seconds(), n)

    trainees = await stack.make_trainees(n + WARM_UP, "压测学员")
    clients = await stack.sign_in_all(trainees, concurrency)
    try:
        warm: list[list[float]] = [[] for _ in STEPS]
        await bounded(concurrency, [partial(_order, c, course_id, warm) for c in clients[:WARM_UP]])
        steps: list[list[float]] = [[] for _ in STEPS]
        cpu0 = stack.cpu_seconds()
        started = time.perf_counter()
        order_lat = await bounded(
            concurrency, [partial(_order, c, course_id, steps) for c in clients[WARM_UP:]]
        )
        order_wall = time.perf_counter() - started
        order_cpu = _cpu_per_item(cpu0, stack.cpu_seconds(), n)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    await _check_enrolled(stack, trainees, course_id)

    bare_rate, order_rate = n / bare_wall, n / order_wall
    ratio = order_rate / bare_rate
    return [
        Result("orders", f"bare workflow rate (n={n}, c={concurrency})", bare_rate, "wf/s"),
        Result("orders", f"order rate (n={n}, c={concurrency})", order_rate, "orders/s",
               f"≥ {bare_rate / 2:.1f}", order_rate >= bare_rate / 2),
        Result("orders", "order rate / bare rate", ratio, "x", "≥ 0.50", ratio >= 0.5),
        *latency_results("orders", "bare workflow latency", bare_lat),
        *latency_results("orders", "order latency (checkout→enrolled)", order_lat),
        *(latency_results("orders", f"  step {name}", times)[0] for name, times in zip(STEPS, steps, strict=True)),
        *(Result("orders", f"CPU per bare workflow: {name}", ms, "ms") for name, ms in bare_cpu.items()),
        *(Result("orders", f"CPU per order: {name}", ms, "ms") for name, ms in order_cpu.items()),
    ]


def _cpu_per_item(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """Milliseconds of CPU each process spent per workflow/order (where the time goes)."""
    return {name: (after[name] - before.get(name, 0.0)) * 1000 / n for name in after}


async def _bare(stack: Stack, n: int, concurrency: int) -> tuple[float, list[float]]:
    async def one() -> float:
        t0 = time.perf_counter()
        await stack.temporal.execute_workflow(
            BareWorkflow.run, id=f"bench-bare-{uuid.uuid4().hex}", task_queue=stack.settings.task_queue
        )
        return time.perf_counter() - t0

    started = time.perf_counter()
    latencies = await bounded(concurrency, [one] * n)
    return time.perf_counter() - started, latencies


STEPS = ("checkout (POST /orders)", "open trade (POST /cashier/next)", "pay (POST /paysim/…/pay)",
         "paid → enrolled seen (status wait)")


async def _order(client: httpx.AsyncClient, course_id: int, steps: list[list[float]]) -> float:
    """One order as the browser makes it; returns its latency and appends each step's to `steps`."""
    marks = [time.perf_counter()]
    placed = await client.post(
        "/orders",
        data={"course_ids": [str(course_id)], "training_year": str(date.today().year), "training_type": "in_post"},
        headers=htmx(client),
    )
    assert placed.status_code == 204, placed.text[:300]
    order_no = placed.headers["HX-Redirect"].split("/")[2]
    marks.append(time.perf_counter())
    qr = await client.post(f"/cashier/{order_no}/next", data={"channel": "alipay"}, headers=htmx(client))
    trade = re.search(r"/paysim/scan/(\w+)", qr.text)
    assert qr.status_code == 200 and trade, qr.text[:300]
    marks.append(time.perf_counter())
    paid = await client.post(f"/paysim/scan/{trade.group(1)}/pay", headers=htmx(client))
    assert "支付成功" in paid.text, paid.text[:300]
    marks.append(time.perf_counter())
    while True:  # the QR page's status request (held until paid), then 我的课程 as the browser is sent there
        status = await client.get(f"/orders/{order_no}/status", params={"wait": 20}, headers=htmx(client))
        assert status.status_code in (200, 204), status.text[:300]
        if status.headers.get("HX-Redirect") == "/my/courses":
            mine = await client.get("/my/courses")
            assert "data-enrollment-id" in mine.text, mine.text[:300]
            break
    marks.append(time.perf_counter())
    for i, step in enumerate(steps):
        step.append(marks[i + 1] - marks[i])
    return marks[-1] - marks[0]


async def _check_enrolled(stack: Stack, trainees: list[int], course_id: int) -> None:
    async with stack.maker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(Enrollment.trainee_id.in_(trainees), Enrollment.course_id == course_id)
        )
    assert count == len(trainees), f"{count} enrollments for {len(trainees)} orders"
