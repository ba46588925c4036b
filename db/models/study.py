"""Projections of the study process (written only by `activities/study.py`).

- ``ChapterProgress``: credited seconds per chapter of an enrollment, for lists and the table of
  contents when the study workflow is not running; the live position comes from the workflow.
- ``ActiveStudy``: the trainee's one-course slot (不能同时学习多个课程). The primary key on
  ``trainee_id`` is what makes two simultaneous first sessions of different courses safe: only one
  INSERT can win. The row lives from the first session of a course until it is completed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class ChapterProgress(Base):
    __tablename__ = "chapter_progress"
    __table_args__ = (UniqueConstraint("enrollment_id", "chapter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id"))
    credited_seconds: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActiveStudy(Base):
    __tablename__ = "active_study"

    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
