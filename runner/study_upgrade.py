"""`python -m runner.study_upgrade`: the one-off step of the upgrade to the study ledger.

Study runs started before the ledger hold their live credit in their own history, which the new
workflow code cannot replay. Run this once while the old worker is still running and before the new
one starts (docs/STUDY.md): for every running study workflow not started on the ledger (the memo
``LEDGER_MEMO`` says so) it asks the run's progress (the old
code answers the query), writes it to the projection, and terminates the run. The trainee's next
开始学习 starts a new run from the projection: the id may be reused after a terminated run, never
after a completed one. Running it again finds nothing left to do.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.study import StudyActivities
from config import get_settings
from core.temporal_client import connect
from db.base import make_engine, make_sessionmaker
from domain.study import ChapterCredit, ProgressRecord, StudyProgress
from workflows.study import LEDGER_MEMO

RUNNING_STUDIES = 'WorkflowType = "StudyWorkflow" AND ExecutionStatus = "Running"'
REASON = "升级到学习台账：进度已写入学习记录，下次开始学习时从该进度继续"


async def upgrade(client: Client, maker: async_sessionmaker[AsyncSession]) -> int:
    """Returns how many runs were carried over."""
    projection = StudyActivities(maker)
    carried = 0
    async for execution in client.list_workflows(RUNNING_STUDIES):
        if (await execution.memo()).get("study_model") == LEDGER_MEMO["study_model"]:
            continue  # started on the ledger already
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        progress = await handle.query("progress", result_type=StudyProgress)  # by name: the old code's
        enrollment_id = int(execution.id.removeprefix("study-"))
        await projection.record_progress(
            ProgressRecord(
                enrollment_id=enrollment_id,
                credited_seconds=int(progress.credited_total),
                chapters=[
                    ChapterCredit(c.chapter_id, int(c.credited), c.done) for c in progress.chapters if c.credited
                ],
            )
        )
        await handle.terminate(reason=REASON)
        carried += 1
    return carried


async def main() -> None:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        carried = await upgrade(await connect(settings), make_sessionmaker(engine))
    finally:
        await engine.dispose()
    print(f"study runs carried over to the ledger: {carried}")


if __name__ == "__main__":
    asyncio.run(main())
