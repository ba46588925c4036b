"""Projections of the study process (written only by `activities/study.py`).

- ``ChapterProgress``: credited seconds per chapter of an enrollment, for lists and the table of
  contents when the study workflow is not running; the live position comes from the workflow.
- ``ActiveStudy``: the trainee's one-course slot (不能同时学习多个课程). The primary key on
  ``trainee_id`` is what makes two simultaneous first sessions of different courses safe: only one
  INSERT can win. The row lives from the first session of a course until it is completed.
- ``StudyLedger``: the enrollment's playing session (one row per enrollment, replaced when a new
  session opens). Written by the heartbeat endpoint with one version-checked UPDATE per heartbeat
  (``api/study_ledger.py``) applying ``domain/study_ledger.py``; the study workflow writes the plan
  of a new session into it (activity ``study.open_ledger``) and reads a session's end from it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class StudyLedger(Base):
    __tablename__ = "study_ledger"
    # the sweeper's two questions: which live sessions are past their deadline, which reports wait
    __table_args__ = (Index("ix_study_ledger_live_deadline", "live", "deadline_at"),)

    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    session_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=0)  # every write: WHERE version = the one read
    live: Mapped[bool] = mapped_column(Boolean, default=True)  # False once the session has ended
    deadline_at: Mapped[float] = mapped_column(Float)  # POSIX seconds: the session ends by itself then
    report_due: Mapped[bool] = mapped_column(Boolean, default=False, index=True)  # the workflow must hear it
    data: Mapped[str] = mapped_column(Text)  # domain.study_ledger.LiveSession as JSON
