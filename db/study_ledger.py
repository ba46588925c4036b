"""Reading and writing the live-session ledger (``db.models.study.StudyLedger``).

Every change is one version-checked UPDATE of the enrollment's row: of two writers that read the
same version (two heartbeats at once, a heartbeat and the workflow's takeover) exactly one wins, and
the other reads again. This is the platform's hot path: Core statements built once (their compiled
form is cached), and on a plain connection (`AsyncConnection`) where the caller has one, without
the ORM session's bookkeeping (about a third of a heartbeat's database cost, bench/study.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.base import rows_changed
from db.models.study import StudyLedger
from domain.study_ledger import LiveSession

LEDGER = cast(Table, StudyLedger.__table__)
Db = AsyncConnection | AsyncSession

_READ = select(LEDGER.c.trainee_id, LEDGER.c.version, LEDGER.c.report_due, LEDGER.c.data).where(
    LEDGER.c.enrollment_id == bindparam("enrollment")
)
_WRITE = (
    update(LEDGER)
    .where(LEDGER.c.enrollment_id == bindparam("enrollment"), LEDGER.c.version == bindparam("expected"))
    .values(
        session_id=bindparam("session_id"),
        version=bindparam("new_version"),
        live=bindparam("is_live"),
        deadline_at=bindparam("deadline"),
        report_due=bindparam("due"),
        data=bindparam("state"),
    )
)


@dataclass
class LedgerRow:
    trainee_id: int
    version: int
    report_due: bool
    live: LiveSession


async def read(db: Db, enrollment_id: int) -> LedgerRow | None:
    row = (await db.execute(_READ, {"enrollment": enrollment_id})).first()
    if row is None:
        return None
    return LedgerRow(row.trainee_id, row.version, bool(row.report_due), LiveSession.from_dict(json.loads(row.data)))


async def write(db: Db, enrollment_id: int, version: int, live: LiveSession, report_due: bool) -> bool:
    """Stores ``live`` if the row is still at ``version``; False when another writer came first."""
    values = _columns(live, report_due, version + 1)
    result = await db.execute(
        _WRITE,
        {
            "enrollment": enrollment_id,
            "expected": version,
            "session_id": values["session_id"],
            "new_version": values["version"],
            "is_live": values["live"],
            "deadline": values["deadline_at"],
            "due": values["report_due"],
            "state": values["data"],
        },
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
