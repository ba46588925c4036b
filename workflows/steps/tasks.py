# mypy: disable-error-code="empty-body"
"""activities/tasks.py: TaskActivities (the reviewer inbox's rows)."""

from __future__ import annotations

from temporalio import activity

from domain.review import CloseTask, OpenTask


@activity.defn(name="tasks.open")
async def open_task(req: OpenTask) -> int: ...


@activity.defn(name="tasks.close")
async def close_task(req: CloseTask) -> None: ...


@activity.defn(name="tasks.remind")
async def remind(task_id: int) -> None: ...


@activity.defn(name="tasks.mark_overdue")
async def mark_overdue(task_id: int) -> None: ...
