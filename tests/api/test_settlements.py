"""The pay page's waiting status request: woken at once by a settlement in this process, by a
re-read for one settled elsewhere, and answered pending when the wait runs out."""

from __future__ import annotations

import asyncio

from api.settlements import Settlements

PENDING, PAID = "pending", "paid"


class Order:
    """A status the test changes behind the waiter's back, counting the reads."""

    def __init__(self) -> None:
        self.status = PENDING
        self.reads = 0

    async def read(self) -> str:
        self.reads += 1
        return self.status


async def test_a_settlement_in_this_process_wakes_the_waiter_at_once() -> None:
    settlements, order = Settlements(recheck=30), Order()
    waiter = asyncio.create_task(settlements.wait("A1", order.read, PENDING, timeout=30))
    await asyncio.sleep(0.05)
    order.status = PAID
    settlements.settled("A1")
    assert await asyncio.wait_for(waiter, timeout=1) == PAID  # long before the 30-s re-read
    assert order.reads == 2


async def test_a_settlement_elsewhere_is_seen_by_the_re_read() -> None:
    settlements, order = Settlements(recheck=0.05), Order()
    waiter = asyncio.create_task(settlements.wait("A2", order.read, PENDING, timeout=30))
    await asyncio.sleep(0.1)
    order.status = PAID  # no settled() call: another web process took the notification
    assert await asyncio.wait_for(waiter, timeout=1) == PAID


async def test_an_unpaid_order_is_answered_pending_when_the_wait_runs_out() -> None:
    settlements, order = Settlements(recheck=0.05), Order()
    assert await settlements.wait("A3", order.read, PENDING, timeout=0.2) == PENDING
    settlements.settled("A3")  # nobody waits any more: nothing to wake, nothing kept
    assert settlements._waiting == {}


async def test_a_settlement_for_another_order_does_not_wake_the_waiter() -> None:
    settlements, order = Settlements(recheck=30), Order()
    waiter = asyncio.create_task(settlements.wait("A4", order.read, PENDING, timeout=0.3))
    await asyncio.sleep(0.05)
    settlements.settled("B9")
    await asyncio.sleep(0.1)
    assert not waiter.done() and order.reads == 1  # still waiting, not even re-read
    assert await waiter == PENDING
