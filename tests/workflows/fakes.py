"""What the review workflows' tests share: a recorder of fake activity calls with the reviewer inbox's
fake `tasks.*` activities (every review process opens, closes, reminds and flags its task alike), and
the error type of a refused Update."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.review import CloseTask, OpenTask


@dataclass
class FakeCalls:
    """Stands in for the side effects of a workflow; records every call, in order. A test's fake
    adds its process's activities and registers them with `task_activities`."""

    calls: list[tuple[str, object]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def arg(self, name: str) -> object:
        return next(a for n, a in self.calls if n == name)

    async def called(self, name: str) -> bool:
        """For `eventually`: the activity has run."""
        return name in self.names()

    def task_activities(self, new_task_id: int) -> list:
        """tasks.open (the task gets `new_task_id`), tasks.close, tasks.remind and tasks.mark_overdue,
        recorded as "open", "close", "remind" and "mark_overdue"."""

        @activity.defn(name="tasks.open")
        async def open_task(req: OpenTask) -> int:
            self.calls.append(("open", req))
            return new_task_id

        @activity.defn(name="tasks.close")
        async def close(req: CloseTask) -> None:
            self.calls.append(("close", req))

        @activity.defn(name="tasks.remind")
        async def remind(task_id: int) -> None:
            self.calls.append(("remind", task_id))

        @activity.defn(name="tasks.mark_overdue")
        async def mark_overdue(task_id: int) -> None:
            self.calls.append(("mark_overdue", task_id))

        return [open_task, close, remind, mark_overdue]


async def refusal(handle: WorkflowHandle, update: str, *args: object) -> str:
    """The error type with which the workflow refuses the Update."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(update, args=list(args))
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.type or ""


async def task_opened(handle: WorkflowHandle) -> bool:
    """For `eventually`: the workflow has taken the result of `tasks.open` (a workflow task completed
    after it), so its `decide` validator knows the task id. Polling the fake's call log instead
    raced the workflow and made `decide` fail now and then with TaskAlreadyDecided."""
    history = await handle.fetch_history()
    scheduled: set[int] = set()
    opened_at: int | None = None
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            if event.activity_task_scheduled_event_attributes.activity_type.name == "tasks.open":
                scheduled.add(event.event_id)
        elif event.HasField("activity_task_completed_event_attributes"):
            if event.activity_task_completed_event_attributes.scheduled_event_id in scheduled:
                opened_at = event.event_id
        elif event.HasField("workflow_task_completed_event_attributes") and opened_at is not None:
            return True
    return False
