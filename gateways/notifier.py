"""The simulator's notification sender: posts each payment notification to the merchant until it
acknowledges, as Alipay and WeChat Pay do (doubling delays, for about 24 hours). Each attempt is
rendered and signed anew in the channel's protocol (`gateways/paysim_wire.py`): Alipay's RSA2-signed
form, acknowledged by the text `success`; WeChat Pay's signed JSON with the encrypted resource,
acknowledged by HTTP 200 or 204."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from db.base import rows_changed, utcnow
from db.models.paysim import SimNotification
from gateways.factory import build_gateway
from gateways.paysim_keys import load_sim_keys
from gateways.paysim_wire import AlipayWire, Notification, WechatWire
from gateways.simulator import SimulatorGateway

log = logging.getLogger(__name__)

MAX_DELAY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
# While one sender posts a notification, no other sender (another web process) takes it. The claim
# is a short lease, renewed while the post is in flight: the claim of a killed process lapses within
# seconds, so its payments land soon after any restart.
CLAIM_FOR = timedelta(seconds=3)
RENEW_EVERY_SECONDS = 1.0
POST_TIMEOUT_SECONDS = 10.0
BATCH = 100
PARALLEL = 8  # notifications posted at once


class Notifier:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        client: httpx.AsyncClient | None = None,
        wires: tuple[AlipayWire, WechatWire] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        if wires is None:
            store, keys = SimulatorGateway(sessionmaker, settings), load_sim_keys(settings.var_dir)
            wires = (AlipayWire(store, keys, settings), WechatWire(store, keys, settings))
        self.wires: dict[str, AlipayWire | WechatWire] = {"alipay": wires[0], "wechat": wires[1]}
        self.first_delay = timedelta(seconds=settings.notify_retry_seconds)
        self._client = client
        self._owns_client = client is None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def retry_delay(self, attempts: int) -> timedelta:
        """Delay after the `attempts`-th failed attempt: first_delay, doubling, at most an hour."""
        return min(self.first_delay * (2 ** max(attempts - 1, 0)), MAX_DELAY)

    def kick(self) -> None:
        """Ask the running loop for a delivery round now, not in up to a second."""
        self._wake.set()

    def deliver_soon(self, out_trade_no: str) -> None:
        """Posts the trade's new notification now, beside the rounds (after a payment): a round
        waits for its slowest merchant answer, this payment's page should not. The claim keeps a
        round from posting it a second time."""
        task = asyncio.create_task(self._deliver_trade(out_trade_no), name=f"paysim-notify-{out_trade_no}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver_due(self, now: datetime | None = None) -> int:
        """Posts every unacknowledged notification that is due, once; returns how many were acknowledged."""
        now = now or utcnow()
        async with self._lock:
            async with self.sessionmaker() as session:
                due = (
                    await session.scalars(
                        select(SimNotification)
                        .where(
                            SimNotification.acked_at.is_(None),
                            SimNotification.next_attempt_at <= now,
                            SimNotification.created_at > now - GIVE_UP_AFTER,
                        )
                        .order_by(SimNotification.id)
                        .limit(BATCH)
                    )
                ).all()
            # Several at once, as the real providers do: one slow merchant answer must not hold up
            # every other payment's notification behind it.
            slots = asyncio.Semaphore(PARALLEL)

            async def deliver(note: SimNotification) -> bool:
                async with slots:
                    return await self._deliver(note, now)

            return sum(await asyncio.gather(*(deliver(note) for note in due)))

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        while not stop_event.is_set():
            self._wake.clear()
            try:
                await self.deliver_due()
            except Exception:  # the loop must outlive a bad round (database busy, ...)
                log.exception("paysim: notification delivery round failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    # ---- steps --------------------------------------------------------------------------------------

    async def _deliver_trade(self, out_trade_no: str) -> None:
        now = utcnow()
        try:
            async with self.sessionmaker() as session:
                note = await session.scalar(
                    select(SimNotification)
                    .where(
                        SimNotification.out_trade_no == out_trade_no,
                        SimNotification.acked_at.is_(None),
                        SimNotification.next_attempt_at <= now,
                    )
                    .order_by(SimNotification.id)
                    .limit(1)
                )
            if note is not None:
                await self._deliver(note, now)
        except Exception:  # the rounds retry it
            log.exception("paysim: immediate notification for %s failed", out_trade_no)

    async def _deliver(self, note: SimNotification, now: datetime) -> bool:
        """One attempt, if no other sender holds the notification; True when acknowledged."""
        if not await self._claim(note.id, now):
            return False
        renewing = asyncio.create_task(self._renew(note.id), name=f"paysim-lease-{note.id}")
        try:
            error = await self._post(note.payload)
        finally:
            renewing.cancel()
            with suppress(asyncio.CancelledError):
                await renewing
        await self._record(note, error, now)
        return error is None

    async def _renew(self, note_id: int) -> None:
        """Keeps the lease while this process posts; stops with it (a killed process renews nothing)."""
        while True:
            await asyncio.sleep(RENEW_EVERY_SECONDS)
            try:
                async with self.sessionmaker() as session:
                    await session.execute(
                        update(SimNotification)
                        .where(SimNotification.id == note_id, SimNotification.acked_at.is_(None))
                        .values(next_attempt_at=utcnow() + CLAIM_FOR)
                        .execution_options(synchronize_session=False)
                    )
                    await session.commit()
            except Exception:  # a missed renewal at worst lets another sender post it again
                log.exception("paysim: renewing the claim of notification %s failed", note_id)

    async def _claim(self, note_id: int, now: datetime) -> bool:
        async with self.sessionmaker() as session:
            result = await session.execute(
                update(SimNotification)
                .where(
                    SimNotification.id == note_id,
                    SimNotification.acked_at.is_(None),
                    SimNotification.next_attempt_at <= now,
                )
                .values(next_attempt_at=max(now, utcnow()) + CLAIM_FOR)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return rows_changed(result) == 1

    def render(self, payload: dict[str, Any]) -> Notification:
        content = {k: str(v) for k, v in payload.items()}
        content.setdefault("amount_cents", content.get("total_amount", "0"))  # rows of the HMAC days
        return self.wires[content["channel"]].notification(content)

    async def _post(self, payload: dict[str, Any]) -> str | None:
        """None when the merchant acknowledged, else what went wrong."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=POST_TIMEOUT_SECONDS)
        note = self.render(payload)
        try:
            if note.form is not None:
                response = await self._client.post(note.url, data=note.form, timeout=POST_TIMEOUT_SECONDS)
            else:
                response = await self._client.post(
                    note.url, content=note.body, headers=note.headers, timeout=POST_TIMEOUT_SECONDS
                )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        body = response.text.strip()
        if note.form is not None and response.status_code == 200 and body == "success":
            return None
        if note.form is None and response.status_code in (200, 204):
            return None
        return f"HTTP {response.status_code}: {body[:200]}"

    async def _record(self, note: SimNotification, error: str | None, now: datetime) -> None:
        attempts = note.attempts + 1
        values: dict[str, Any] = {"attempts": attempts}
        if error is None:
            values |= {"acked_at": now, "last_error": None, "next_attempt_at": now}
        else:
            next_at = now + self.retry_delay(attempts)
            values |= {"last_error": error, "next_attempt_at": next_at}
            if next_at - note.created_at >= GIVE_UP_AFTER:
                log.warning(
                    "paysim: giving up notification %s for %s after %d attempts: %s",
                    note.id,
                    note.out_trade_no,
                    attempts,
                    error,
                )
            else:
                log.info(
                    "paysim: notification %s for %s not acknowledged (%s); next attempt at %s",
                    note.id,
                    note.out_trade_no,
                    error,
                    next_at.isoformat(),
                )
        async with self.sessionmaker() as session:
            await session.execute(
                update(SimNotification)
                .where(SimNotification.id == note.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await session.commit()


def start_notifier(app: Any, client: httpx.AsyncClient | None = None) -> Callable[[], Awaitable[None]]:
    """Lifespan helper: puts on `app.state` the merchant's gateway (`gateway`, the real adapters,
    which verifies notifications), the simulator's store (`paysim`) and its two wire protocols
    (`alipay_wire`, `wechat_wire`) and its notifier (it needs `app.state.settings` and
    `app.state.sessionmaker`), starts the delivery loop, and returns the coroutine function that
    stops it.

    The notifier posts to `settings.base_url` with its own HTTP client, unless one is given here or
    set beforehand as `app.state.notify_client` (tests: an `httpx.ASGITransport` client on the app)."""
    client = client or getattr(app.state, "notify_client", None)
    settings: Settings = app.state.settings
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    store, keys = SimulatorGateway(maker, settings), load_sim_keys(settings.var_dir)
    app.state.paysim = store
    app.state.alipay_wire = AlipayWire(store, keys, settings)
    app.state.wechat_wire = WechatWire(store, keys, settings)
    app.state.gateway = build_gateway(settings)
    notifier = Notifier(maker, settings, client, wires=(app.state.alipay_wire, app.state.wechat_wire))
    app.state.notifier = notifier
    stop_event = asyncio.Event()
    task = asyncio.create_task(notifier.run_forever(stop_event), name="paysim-notifier")

    async def stop() -> None:
        stop_event.set()
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await notifier.aclose()

    app.state.stop_notifier = stop  # idempotent; tests use it to take the clock into their own hands
    return stop
