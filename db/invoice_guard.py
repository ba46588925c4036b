"""Claiming and releasing orders in the shared invoiced-orders guard (db/models/invoice_guard.py).

Used by the activities of both invoice processes; the caller owns the transaction, except with
`claim_orders_and_commit`, which ends it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.invoice_guard import InvoicedOrder


async def invoiced_order_nos(session: AsyncSession, order_nos: Iterable[str]) -> set[str]:
    """The orders among `order_nos` that some invoice application already holds."""
    wanted = list(order_nos)
    if not wanted:
        return set()
    rows = await session.scalars(select(InvoicedOrder.order_no).where(InvoicedOrder.order_no.in_(wanted)))
    return set(rows)


async def orders_held_by_others(session: AsyncSession, order_nos: Iterable[str], application_no: str) -> list[str]:
    wanted = list(order_nos)
    if not wanted:
        return []
    rows = await session.scalars(
        select(InvoicedOrder.order_no).where(
            InvoicedOrder.order_no.in_(wanted), InvoicedOrder.application_no != application_no
        )
    )
    return sorted(rows)


async def claim_orders(session: AsyncSession, order_nos: Iterable[str], *, kind: str, application_no: str) -> list[str]:
    """Adds the claims (flushes, does not commit). Returns the orders another application holds —
    then nothing was added and the caller should roll back. A concurrent claim that slips past the
    check fails the flush with IntegrityError: the caller rolls back and may ask again."""
    wanted = list(dict.fromkeys(order_nos))
    taken = await orders_held_by_others(session, wanted, application_no)
    if taken:
        return taken
    mine = await invoiced_order_nos(session, wanted)  # a retried activity already claimed these
    session.add_all(
        InvoicedOrder(order_no=no, kind=kind, application_no=application_no) for no in wanted if no not in mine
    )
    await session.flush()
    return []


async def claim_orders_and_commit(
    session: AsyncSession, order_nos: Iterable[str], *, kind: str, application_no: str
) -> list[str]:
    """Claims the orders and commits them together with what the caller added to the session (the
    application and its items). Returns the orders another application holds — then everything is
    rolled back and nothing is kept. A concurrent claim that wins the race on the guard's primary key
    counts the same; any other IntegrityError propagates, so the activity retries."""
    wanted = list(order_nos)
    try:
        taken = await claim_orders(session, wanted, kind=kind, application_no=application_no)
        if taken:
            await session.rollback()
            return taken
        await session.commit()
    except IntegrityError:
        await session.rollback()
        taken = await orders_held_by_others(session, wanted, application_no)
        if not taken:
            raise  # something else went wrong: let the activity retry
        return taken
    return []


async def release_orders(session: AsyncSession, application_no: str) -> None:
    """Frees every order the application holds (rejected or cancelled); does not commit."""
    await session.execute(delete(InvoicedOrder).where(InvoicedOrder.application_no == application_no))
