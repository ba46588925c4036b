"""消息中心: a trainee's notices, written by the activity that records each outcome.

Read state (`read_at`) is the trainee's own: the web layer sets it; nothing else here is written
outside an activity.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from domain.notices import NoticeKind


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (
        # one notice per outcome: an activity run again finds it (domain/notices.py keys)
        UniqueConstraint("user_id", "key", name="uq_notices_user_id_key"),
        Index("ix_notices_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # NoticeKind
    key: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(200))  # the page of what the notice is about
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @property
    def kind_label(self) -> str:
        return NoticeKind.LABELS.get(self.kind, self.kind)
