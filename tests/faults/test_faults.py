"""Faults on the real stack (bench/stack.py: Temporal dev server on a file database, worker and web
app as subprocesses): `kill -9` of the worker during concurrent purchases and withdrawals, a
restart of the Temporal dev server, a `kill -9` of the web process during payments.

The clients behave as browsers and people do: a request cut off by a dead web process, or answered
503 系统繁忙, is sent again (the checkout form with its own idempotency key). After each fault:
every order is enrolled exactly once, every withdrawal refunded exactly once, no payment is left
without an enrollment or a refund, and no client ever saw a 500.

Run with `make test-faults` (about a minute on 2 cores); FAULTS_DATABASE_URL runs it on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bench.stack import Stack, htmx, running_stack
from db.models.orders import Enrollment, EnrollmentStatus, Order, OrderStatus, Refund, RefundStatus
from db.models.paysim import SimRefund, SimTrade, SimTradeState
from gateways.payment import order_no_of

pytestmark = pytest.mark.faults

YEAR = date.today().year
COURSE = "PUB-02"
PURCHASES = 20  # per fault
WITHDRAWALS = 10  # per fault where withdrawals run
AGAIN = {502, 503, 504}  # answers a person meets with "try again"
GIVE_UP_SECONDS = 150.0
SETTLE_SECONDS = 90.0


@dataclass
class Journal:
    """Everything the clients saw."""

    statuses: list[int] = field(default_factory=list)
    cut_off: int = 0  # requests whose connection died with the web process
    server_errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        again = sum(1 for s in self.statuses if s in AGAIN)
        return f"{len(self.statuses)} answers, {again} answered 503/502, {self.cut_off} cut off"


async def call(
    client: httpx.AsyncClient,
    journal: Journal,
    method: str,
    url: str,
    done: Callable[[httpx.Response], bool],
    again: Callable[[httpx.Response], bool] = lambda r: False,
    **kwargs: Any,
) -> httpx.Response:
    """One step as a person takes it: sent again after a cut-off connection, a 503, or (`again`)
    an answer that says to wait (the QR page's status poll)."""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while True:
        try:
            resp = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            journal.cut_off += 1
        else:
            journal.statuses.append(resp.status_code)
            if resp.status_code >= 500 and resp.status_code not in AGAIN:
                journal.server_errors.append(f"{method} {url}: {resp.status_code} {resp.text[:200]}")
            if done(resp):
                return resp
            if resp.status_code not in AGAIN and not again(resp):
                raise AssertionError(f"{method} {url}: {resp.status_code} {resp.text[:300]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{method} {url}: no answer in {GIVE_UP_SECONDS} s")
        await asyncio.sleep(0.3)


async def purchase(client: httpx.AsyncClient, course_id: int, journal: Journal) -> str:
    """购买课程 → 支付宝 → 模拟支付 → the QR page waits until 我的课程; returns the order number."""
    form = {
        "course_ids": [str(course_id)],
        "training_year": str(YEAR),
        "training_type": "in_post",
        "checkout_key": uuid.uuid4().hex,  # one form: every retry sends the same key
    }
    placed = await call(
        client, journal, "POST", "/orders", lambda r: r.status_code == 204, data=form, headers=htmx(client)
    )
    order_no = placed.headers["HX-Redirect"].split("/")[2]
    qr = await call(
        client,
        journal,
        "POST",
        f"/cashier/{order_no}/next",
        lambda r: r.status_code == 200 and "/paysim/scan/" in r.text,
        data={"channel": "alipay"},
        headers=htmx(client),
    )
    trade = re.search(r"/paysim/scan/(\w+)", qr.text)
    assert trade
    # paid already by a try whose answer was lost: the phone page refuses the second payment (409)
    await call(
        client,
        journal,
        "POST",
        f"/paysim/scan/{trade.group(1)}/pay",
        lambda r: "支付成功" in r.text or r.status_code == 409,
        headers=htmx(client),
    )
    await call(
        client,
        journal,
        "GET",
        f"/orders/{order_no}/status",
        lambda r: r.headers.get("HX-Redirect") == "/my/courses",
        again=lambda r: r.status_code == 200,
        params={"wait": 5},
        headers=htmx(client),
    )
    return order_no


async def withdraw(client: httpx.AsyncClient, enrollment_id: int, journal: Journal) -> None:
    await call(
        client,
        journal,
        "POST",
        f"/my/courses/{enrollment_id}/withdraw",
        lambda r: r.status_code == 204 and "withdrawn" in r.headers.get("HX-Redirect", ""),
        headers=htmx(client),
    )


@pytest_asyncio.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    # SQLite by default; FAULTS_DATABASE_URL=postgresql://.../<a database of its own> for PostgreSQL
    async with running_stack(
        os.environ.get("FAULTS_DATABASE_URL"), keep=bool(os.environ.get("FAULTS_KEEP")), temporal_file=True
    ) as s:
        yield s


async def signed_in(stack: Stack, n: int, label: str) -> tuple[list[int], list[httpx.AsyncClient]]:
    trainees = await stack.make_trainees(n, label)
    return trainees, await stack.sign_in_all(trainees, concurrency=8)


async def run_with_fault(jobs: list[Awaitable[Any]], fault: Callable[[], Awaitable[None]], after: float) -> list[Any]:
    tasks = [asyncio.ensure_future(job) for job in jobs]
    # strike at `after` seconds, or as soon as the first client is through (a fast machine), so the
    # fault always lands while the others are still at work
    loop = asyncio.get_running_loop()
    deadline = loop.time() + after
    while loop.time() < deadline and not any(t.done() for t in tasks):
        await asyncio.sleep(0.02)
    assert not all(t.done() for t in tasks), "the fault must hit while the clients are at work"
    await fault()
    return list(await asyncio.gather(*tasks))


async def check_orders(stack: Stack, trainees: list[int], course_id: int) -> None:
    """Each trainee: one order, paid, its course enrolled exactly once."""
    async with stack.maker() as s:
        orders = (await s.execute(select(Order.trainee_id, Order.status).where(Order.trainee_id.in_(trainees)))).all()
        enrolled = (
            await s.execute(
                select(Enrollment.trainee_id, func.count())
                .where(Enrollment.trainee_id.in_(trainees), Enrollment.course_id == course_id)
                .group_by(Enrollment.trainee_id)
            )
        ).all()
    assert sorted(t for t, _ in orders) == sorted(trainees), "one order per trainee"
    assert {status for _, status in orders} == {OrderStatus.PAID}
    assert dict(enrolled) == dict.fromkeys(trainees, 1), "each order enrolled exactly once"


async def check_refunds(stack: Stack, enrollment_ids: list[int]) -> None:
    """Each withdrawn course: refunded exactly once, in full, at the provider too."""

    async def settled() -> bool:
        async with stack.maker() as s:
            done = await s.scalar(
                select(func.count())
                .select_from(Refund)
                .where(Refund.enrollment_id.in_(enrollment_ids), Refund.status == RefundStatus.DONE)
            )
        return done == len(enrollment_ids)

    await until(settled, "refunds done")
    async with stack.maker() as s:
        rows = (
            await s.execute(
                select(Enrollment.id, Enrollment.status, Enrollment.price_cents, Refund.refund_no, Refund.amount_cents)
                .join(Refund, Refund.enrollment_id == Enrollment.id)
                .where(Enrollment.id.in_(enrollment_ids))
            )
        ).all()
        provider = dict(
            (
                await s.execute(
                    select(SimRefund.refund_no, func.count())
                    .where(SimRefund.refund_no.in_([r.refund_no for r in rows]))
                    .group_by(SimRefund.refund_no)
                )
            ).all()
        )
    assert sorted(r.id for r in rows) == sorted(enrollment_ids), "one refund per withdrawal"
    assert all(r.status == EnrollmentStatus.WITHDRAWN and r.amount_cents == r.price_cents for r in rows)
    assert provider == {r.refund_no: 1 for r in rows}, "each refund reached the provider once"


async def check_payments(stack: Stack) -> None:
    """No payment without an enrollment or a refund (over the whole run so far)."""

    async def all_settled() -> list[str]:
        async with stack.maker() as s:
            paid = (
                await s.execute(
                    select(SimTrade.out_trade_no, SimTrade.trade_no).where(
                        SimTrade.state.in_([SimTradeState.SUCCESS, SimTradeState.REFUND])
                    )
                )
            ).all()
            enrolled_orders = set((await s.scalars(select(Enrollment.order_no).distinct())).all())
            refunded_trades = set((await s.scalars(select(Refund.trade_no).distinct())).all())
        loose = []
        for out_trade_no, trade_no in paid:
            if order_no_of(out_trade_no) not in enrolled_orders and trade_no not in refunded_trades:
                loose.append(out_trade_no)
        return loose

    async def none_loose() -> bool:
        return not await all_settled()

    await until(none_loose, "every payment enrolled or refunded")


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled in {SETTLE_SECONDS} s: {what}")
        await asyncio.sleep(0.5)


async def close_all(clients: list[httpx.AsyncClient]) -> None:
    await asyncio.gather(*(c.aclose() for c in clients))


# ---- the faults ----------------------------------------------------------------------------------


async def _purchases_and_withdrawals_under(stack: Stack, fault: Callable[[], Awaitable[None]], label: str) -> None:
    [course_id] = await stack.course_ids(COURSE)
    journal = Journal()
    # the withdrawals' courses are bought first, with nothing failing
    holders, holder_clients = await signed_in(stack, WITHDRAWALS, f"{label}退课")
    buyers, buyer_clients = await signed_in(stack, PURCHASES, f"{label}购课")
    try:
        await asyncio.gather(*(purchase(c, course_id, journal) for c in holder_clients))
        async with stack.maker() as s:
            held = dict(
                (
                    await s.execute(
                        select(Enrollment.trainee_id, Enrollment.id).where(Enrollment.trainee_id.in_(holders))
                    )
                ).all()
            )
        started = time.monotonic()
        jobs: list[Awaitable[Any]] = [purchase(c, course_id, journal) for c in buyer_clients]
        jobs += [withdraw(c, held[t], journal) for t, c in zip(holders, holder_clients, strict=True)]
        await run_with_fault(jobs, fault, after=1.5)
        print(f"\n{label}: {PURCHASES} purchases + {WITHDRAWALS} withdrawals in {time.monotonic() - started:.1f} s;"
              f" {journal.summary()}")
    finally:
        await close_all(holder_clients + buyer_clients)
    assert journal.server_errors == []
    await check_orders(stack, buyers, course_id)
    await check_refunds(stack, list(held.values()))
    await check_payments(stack)


async def test_kill_9_of_the_worker_during_purchases_and_withdrawals(stack: Stack) -> None:
    async def fault() -> None:
        stack.kill("worker")
        await asyncio.sleep(1.0)
        await stack.start("worker")

    await _purchases_and_withdrawals_under(stack, fault, "worker kill")


async def test_restart_of_the_temporal_dev_server_on_its_file_database(stack: Stack) -> None:
    async def fault() -> None:
        stack.kill("temporal")
        await asyncio.sleep(1.0)
        await stack.start("temporal")

    await _purchases_and_withdrawals_under(stack, fault, "Temporal restart")


async def test_kill_9_of_the_web_process_during_payments(stack: Stack) -> None:
    """Payments land within seconds of the restart: a claim the dead process held lapses fast."""
    [course_id] = await stack.course_ids(COURSE)
    journal = Journal()
    buyers, clients = await signed_in(stack, PURCHASES, "web kill购课")
    try:
        started = time.monotonic()
        restarted: list[float] = []

        async def fault() -> None:
            stack.kill("web")
            await stack.start("web")
            restarted.append(time.monotonic())

        async def timed(client: httpx.AsyncClient) -> float:
            await purchase(client, course_id, journal)
            return time.monotonic()

        finished = await run_with_fault([timed(c) for c in clients], fault, after=1.5)
        after_restart = max(finished) - restarted[0]
        print(f"\nweb kill: {PURCHASES} purchases in {time.monotonic() - started:.1f} s; last one enrolled"
              f" {after_restart:.1f} s after the restart; {journal.summary()}")
    finally:
        await close_all(clients)
    assert journal.server_errors == []
    await check_orders(stack, buyers, course_id)
    await check_payments(stack)
