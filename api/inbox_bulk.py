"""批量领取 / 批量通过: many tasks of one kind at once, each still its own claim or its own Update.

A bulk claim is one conditional UPDATE per task (the same as 领取), so two reviewers claiming the
same tasks at once each get the ones they reached first and nothing is claimed twice. A bulk
approval sends each task's workflow its own `decide` Update (the workflow's validator still refuses
a decided task, and the workflow writes each decision to the audit trail); a task that cannot be
approved is reported and the others go on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.deps import release
from api.errors import message_for_update_failure
from db.base import utcnow
from db.models.tasks import ReviewTask, TaskStatus
from db.models.users import User
from db.task_events import add_event
from domain.errors import MESSAGES, DomainError
from domain.review import Decision, bulk_refusal, queues_for

# Updates in flight at once: enough to finish a page quickly, few enough not to flood the workers
BULK_UPDATES_AT_ONCE = 5


@dataclass
class Skipped:
    task_id: int
    subject: str
    message: str


@dataclass
class BulkOutcome:
    done: list[int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


async def selected_tasks(session: AsyncSession, user: User, task_ids: list[int]) -> list[ReviewTask]:
    """The selected tasks, all of my queues and of one kind (oldest due first), or a refusal."""
    wanted = sorted(set(task_ids))
    code = bulk_refusal(set(), len(wanted))
    if code is not None:
        raise DomainError(code)
    tasks = list(
        (await session.scalars(select(ReviewTask).where(ReviewTask.id.in_(wanted)).order_by(ReviewTask.id))).all()
    )
    mine = queues_for(user.role, user.school_id)
    if len(tasks) != len(wanted) or any(t.queue not in mine for t in tasks):
        raise DomainError("Forbidden")
    code = bulk_refusal({t.kind for t in tasks}, len(tasks))
    if code is not None:
        raise DomainError(code)
    return tasks


async def claim_many(session: AsyncSession, user: User, tasks: list[ReviewTask]) -> BulkOutcome:
    """Claims each open, unclaimed task; in id order, so concurrent bulk claims never deadlock."""
    outcome = BulkOutcome()
    for task in sorted(tasks, key=lambda t: t.id):
        result = await session.execute(
            update(ReviewTask)
            .where(ReviewTask.id == task.id, ReviewTask.status == TaskStatus.OPEN, ReviewTask.assignee_id.is_(None))
            .values(assignee_id=user.id, claimed_at=utcnow())
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            await add_event(session, task.id, "claimed", user.id)
            await session.commit()
            outcome.done.append(task.id)
            continue
        await session.commit()  # ends the read of the refused UPDATE before the next task
        await session.refresh(task)
        if task.status != TaskStatus.OPEN:
            outcome.skipped.append(Skipped(task.id, task.subject, MESSAGES["TaskAlreadyDecided"]))
        elif task.assignee_id != user.id:
            outcome.skipped.append(Skipped(task.id, task.subject, MESSAGES["TaskClaimedByOther"]))
        else:
            outcome.done.append(task.id)  # mine already: nothing to do
    return outcome


def _approvable(task: ReviewTask, user: User) -> str | None:
    """Why this task cannot be approved by me now, or None."""
    if task.status != TaskStatus.OPEN:
        return MESSAGES["TaskAlreadyDecided"]
    if task.assignee_id is None:
        return MESSAGES["TaskNotClaimed"]
    if task.assignee_id != user.id:
        return MESSAGES["TaskClaimedByOther"]
    return None


async def _decide(client: Client, task: ReviewTask, decision: Decision, gate: asyncio.Semaphore) -> str | None:
    """Sends one `decide` Update; the refusal's message, or None when approved."""
    async with gate:
        try:
            await client.get_workflow_handle(task.workflow_id).execute_update("decide", decision, result_type=str)
        except WorkflowUpdateFailedError as err:
            return message_for_update_failure(err)[1]
        except RPCError:  # the process has ended: nothing can be decided any more
            return MESSAGES["TaskAlreadyDecided"]
    return None


async def approve_many(
    session: AsyncSession, client: Client, user: User, tasks: list[ReviewTask], reason: str
) -> BulkOutcome:
    """通过 for each task claimed by me: one Update per task, a few at a time."""
    outcome = BulkOutcome()
    ready: list[ReviewTask] = []
    for task in tasks:
        why = _approvable(task, user)
        if why is None:
            ready.append(task)
        else:
            outcome.skipped.append(Skipped(task.id, task.subject, why))
    subjects = {t.id: (t.subject, t.workflow_id) for t in ready}
    await release(session)  # no connection held while the workflows answer
    gate = asyncio.Semaphore(BULK_UPDATES_AT_ONCE)
    decisions = [Decision(task_id=t.id, reviewer_id=user.id, approve=True, reason=reason) for t in ready]
    answers = await asyncio.gather(*(_decide(client, t, d, gate) for t, d in zip(ready, decisions, strict=True)))
    for task_id, refusal in zip(subjects, answers, strict=True):
        if refusal is None:
            outcome.done.append(task_id)
        else:
            outcome.skipped.append(Skipped(task_id, subjects[task_id][0], refusal))
    return outcome
