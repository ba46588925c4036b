"""Writing a notice (消息中心) inside the transaction of the activity that records the outcome.

The notice commits with the outcome or not at all; a run of the activity again finds it by its key
and writes nothing (a race of two runs ends in the unique constraint, and the retry finds it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.notices import Notice
from domain.notices import NoticeDraft


async def add_notice(session: AsyncSession, draft: NoticeDraft) -> bool:
    """Adds the notice to ``session`` unless it is already there; True when added. No commit."""
    exists = await session.scalar(
        select(Notice.id).where(Notice.user_id == draft.user_id, Notice.key == draft.key)
    )
    if exists is not None:
        return False
    session.add(
        Notice(
            user_id=draft.user_id,
            kind=draft.kind,
            key=draft.key,
            title=draft.title[:100],
            body=draft.body,
            link=draft.link[:200],
        )
    )
    return True
