"""Reading and writing the live-session ledger (``db.models.study.StudyLedger``).

Every change is one version-checked UPDATE of the enrollment's row: of two writers that read the
same version (two heartbeats at once, a heartbeat and the workflow's takeover) exactly one wins, and
the other reads again. Core statements, no ORM identity map: this is the platform's hot path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import rows_changed
from db.models.study import StudyLedger
from domain.study_ledger import LiveSession

LEDGER = cast(Table, StudyLedger.__table__)


@dataclass
class LedgerRow:
    trainee_id: int
    version: int
    report_due: bool
    live: LiveSession


async def read(session: AsyncSession, enrollment_id: int) -> LedgerRow | None:
    row = (
        await session.execute(
            select(LEDGER.c.trainee_id, LEDGER.c.version, LEDGER.c.report_due, LEDGER.c.data).where(
                LEDGER.c.enrollment_id == enrollment_id
            )
        )
    ).first()
    if row is None:
        return None
    return LedgerRow(row.trainee_id, row.version, bool(row.report_due), LiveSession.from_dict(json.loads(row.data)))


async def write(session: AsyncSession, enrollment_id: int, version: int, live: LiveSession, report_due: bool) -> bool:
    """Stores ``live`` if the row is still at ``version``; False when another writer came first."""
    result = await session.execute(
        update(LEDGER)
        .where(LEDGER.c.enrollment_id == enrollment_id, LEDGER.c.version == version)
        .values(_columns(live, report_due, version + 1))
    )
    return rows_changed(result) == 1


async def replace(session: AsyncSession, live: LiveSession) -> None:
    """A new session takes the enrollment's row (whatever the row held is over)."""
    plan = live.plan
    result = await session.execute(
        update(LEDGER)
        .where(LEDGER.c.enrollment_id == plan.enrollment_id)
        .values(_columns(live, False, LEDGER.c.version + 1))
    )
    if rows_changed(result) == 0:
        await session.execute(
            insert(LEDGER).values(
                enrollment_id=plan.enrollment_id, trainee_id=plan.trainee_id, **_columns(live, False, 1)
            )
        )


async def clear_report(session: AsyncSession, enrollment_id: int, session_id: str) -> None:
    """The workflow has heard the session's end (a report of an older session changes nothing)."""
    await session.execute(
        update(LEDGER)
        .where(LEDGER.c.enrollment_id == enrollment_id, LEDGER.c.session_id == session_id)
        .values(report_due=False)
    )


def _columns(live: LiveSession, report_due: bool, version: object) -> dict[str, object]:
    return {
        "session_id": live.plan.session_id,
        "version": version,
        "live": live.ended is None,
        "deadline_at": live.deadline,
        "report_due": report_due,
        "data": json.dumps(live.to_dict(), separators=(",", ":")),
    }
