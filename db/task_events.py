"""The reviewer inbox's append-only audit trail, written by task activities and by the inbox's claim."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.tasks import TaskEvent

ACTION_LABELS = {
    "created": "提交审核",
    "claimed": "领取",
    "released": "释放",
    "approved": "通过",
    "rejected": "驳回",
    "reminded": "到期提醒",
    "overdue": "已超期",
    "cancelled": "申请人撤回",
    "commented": "评论",
    "reassigned": "改派",
}


async def add_event(
    session: AsyncSession, task_id: int, action: str, actor_id: int | None, comment: str = ""
) -> None:
    """Appends one entry; the caller commits (in the same transaction as the change it records)."""
    last = await session.scalar(select(func.max(TaskEvent.seq)).where(TaskEvent.task_id == task_id))
    session.add(
        TaskEvent(task_id=task_id, action=action, actor_id=actor_id, comment=comment, seq=(last or 0) + 1)
    )
