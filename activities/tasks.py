"""The reviewer inbox's projection: human tasks and their audit trail (docs/INBOX.md).

Only these activities write a task's process columns; the inbox API writes nothing but the claim
(assignee) with a conditional UPDATE. Every activity is idempotent: a retry changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from db.base import utcnow
from db.models.tasks import ReviewTask, TaskStatus
from db.task_events import add_event
from domain.review import CloseTask, OpenTask


class TaskActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @activity.defn(name="tasks.open")
    async def open(self, req: OpenTask) -> int:
        async with self.sessionmaker() as session:
            existing = await session.scalar(select(ReviewTask.id).where(ReviewTask.task_key == req.task_key))
            if existing is not None:
                return existing  # a retried activity: the task is already there
            task = ReviewTask(
                task_key=req.task_key,
                kind=req.kind,
                subject=req.subject,
                queue=req.queue,
                workflow_id=req.workflow_id,
                submitter_id=req.submitter_id,
                payload=dict(req.payload),
                status=TaskStatus.OPEN,
                created_at=utcnow(),
                due_at=datetime.fromisoformat(req.due_at),
            )
            session.add(task)
            try:
                await session.flush()
                await add_event(session, task.id, "created", req.submitter_id)
                await session.commit()
            except IntegrityError:
                # two attempts raced on the unique task_key: the other one's row is the task
                await session.rollback()
                found = await session.scalar(select(ReviewTask.id).where(ReviewTask.task_key == req.task_key))
                assert found is not None, req.task_key
                return found
            return task.id

    @activity.defn(name="tasks.close")
    async def close(self, req: CloseTask) -> None:
        cancelled = req.outcome == "cancelled"
        await self._change_open_task(
            req.task_id,
            values={
                "status": TaskStatus.CANCELLED if cancelled else TaskStatus.DECIDED,
                "decision": None if cancelled else req.outcome,
                "reason": req.reason,
                "decided_by": req.actor_id,
                "decided_at": utcnow(),
            },
            action=req.outcome, actor_id=req.actor_id, comment=req.reason,
        )

    @activity.defn(name="tasks.remind")
    async def remind(self, task_id: int) -> None:
        await self._change_open_task(
            task_id, ReviewTask.reminded_at.is_(None), values={"reminded_at": utcnow()},
            action="reminded", comment="任务即将到期，请尽快处理",
        )

    @activity.defn(name="tasks.mark_overdue")
    async def mark_overdue(self, task_id: int) -> None:
        await self._change_open_task(
            task_id, ReviewTask.overdue.is_(False), values={"overdue": True},
            action="overdue", comment="已超过处理期限",
        )

    async def _change_open_task(
        self, task_id: int, *only_if: ColumnElement[bool], values: dict[str, Any],
        action: str, actor_id: int | None = None, comment: str = "",
    ) -> None:
        """Changes a task that is still open (and meets `only_if`), with its audit entry in the same
        transaction — written only when this call made the change, so a retry adds nothing twice."""
        async with self.sessionmaker() as session:
            result = await session.execute(
                update(ReviewTask)
                .where(ReviewTask.id == task_id, ReviewTask.status == TaskStatus.OPEN, *only_if)
                .values(**values)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                await add_event(session, task_id, action, actor_id, comment)
            await session.commit()

    def all(self) -> list[Callable[..., Any]]:
        return [self.open, self.close, self.remind, self.mark_overdue]
