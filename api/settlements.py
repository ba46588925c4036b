"""Wakes the waiting pay page the moment its order is settled.

The QR page asks `GET /orders/{no}/status?wait=…` and the server holds that request until the order
is no longer pending. When the payment notification reaches this process, the order workflow answers
once the enrollments are made and `settled()` wakes the waiting requests at once. A notification that
reached another web process is seen by re-reading the order every `recheck` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress

RECHECK_SECONDS = 1.0


class Settlements:
    def __init__(self, recheck: float = RECHECK_SECONDS) -> None:
        self.recheck = recheck
        self._waiting: dict[str, set[asyncio.Event]] = {}

    def settled(self, order_no: str) -> None:
        for event in self._waiting.get(order_no, ()):
            event.set()

    async def wait(self, order_no: str, read_status: Callable[[], Awaitable[str]], pending: str, timeout: float) -> str:
        """Returns the order's status as soon as it is not `pending`, or the pending status after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        event = asyncio.Event()
        self._waiting.setdefault(order_no, set()).add(event)
        try:
            # read after registering: a settlement between the read and the wait is not missed
            status = await read_status()
            while status == pending and (left := deadline - loop.time()) > 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(self.recheck, left))
                event.clear()
                status = await read_status()
            return status
        finally:
            waiting = self._waiting[order_no]
            waiting.discard(event)
            if not waiting:
                del self._waiting[order_no]
