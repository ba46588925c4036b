"""学时登记 / 学时申报: the trainee's hours records and the declarations the school reviews.

Writers: the web layer owns drafts (学时填报, edit, delete) and the pending declaration that
提交学时 gathers them into (like a cart); from 提交申报 on, only the declaration workflow's
activities write (`activities/hours.py`: lock for review, apply the school's decision), and the
study workflow's `hours.push_platform` writes platform-pushed records.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcnow
from db.models.catalog import School
from domain.catalog import SubjectCategory, TrainingType
from domain.hours import DeclarationState, HoursSource, RecordState


class HoursRecord(Base):
    __tablename__ = "hours_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[str] = mapped_column(String(10), index=True)  # HoursSource
    state: Mapped[str] = mapped_column(String(12), index=True)  # RecordState
    training_name: Mapped[str] = mapped_column(String(200))  # the course title for a platform record
    organiser: Mapped[str] = mapped_column(String(200), default="")  # 主办单位 (the school if platform)
    start_date: Mapped[date | None] = mapped_column(nullable=True)
    end_date: Mapped[date | None] = mapped_column(nullable=True)
    subject_category: Mapped[str] = mapped_column(String(20))  # SubjectCategory
    training_type: Mapped[str] = mapped_column(String(20))  # TrainingType
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    # the year the hours count toward: the enrollment's training year, or the 填报年份 chosen at
    # 提交学时 (a draft carries its start year until then)
    year: Mapped[int] = mapped_column(Integer, index=True)
    # platform: the course's school; self-declared: the school that reviews it
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), nullable=True)
    # one platform record per enrollment, however often the study workflow pushes it
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id"), unique=True, nullable=True
    )
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), nullable=True)
    declaration_id: Mapped[int | None] = mapped_column(
        ForeignKey("hours_declarations.id"), nullable=True, index=True
    )
    # file name under settings.files_dir / "evidence"
    evidence_file: Mapped[str | None] = mapped_column(String(100), nullable=True)
    evidence_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    evidence_name: Mapped[str] = mapped_column(String(200), default="")
    # the school's reason when it rejected the record (shown until the record is submitted again)
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)

    school: Mapped[School | None] = relationship()
    declaration: Mapped[HoursDeclaration | None] = relationship(foreign_keys=[declaration_id])

    @property
    def source_label(self) -> str:
        return HoursSource.LABELS.get(self.source, self.source)

    @property
    def state_label(self) -> str:
        if self.state == RecordState.DRAFT and self.reject_reason:
            return "已驳回"
        return RecordState.LABELS.get(self.state, self.state)

    @property
    def subject_label(self) -> str:
        try:
            return SubjectCategory(self.subject_category).label
        except ValueError:
            return self.subject_category

    @property
    def type_label(self) -> str:
        try:
            return TrainingType(self.training_type).label
        except ValueError:
            return self.training_type

    @property
    def editable(self) -> bool:
        return self.source == HoursSource.SELF and self.state == RecordState.DRAFT


class HoursDeclaration(Base):
    """One 提交学时 batch for a year; 提交申报 sends it to a school (workflow hours-{declaration_no})."""

    __tablename__ = "hours_declarations"
    __table_args__ = (
        # 提交学时 adds to the one pending declaration of that year
        Index(
            "uq_hours_declarations_pending",
            "trainee_id",
            "year",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_no: Mapped[str] = mapped_column(String(32), unique=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default=DeclarationState.PENDING, index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), nullable=True, index=True)
    workflow_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)

    school: Mapped[School | None] = relationship()
    items: Mapped[list[HoursDeclarationItem]] = relationship(order_by="HoursDeclarationItem.id")

    @property
    def state_label(self) -> str:
        return DeclarationState.LABELS.get(self.state, self.state)


class HoursDeclarationItem(Base):
    """A record as it was sent for review, and the school's decision on it (kept after a rejected
    record goes back to draft and is sent again in another declaration)."""

    __tablename__ = "hours_declaration_items"
    __table_args__ = (UniqueConstraint("declaration_id", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("hours_declarations.id"), index=True)
    # the trainee may delete a rejected record later: this row keeps what was sent and decided
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("hours_records.id", ondelete="SET NULL"), nullable=True, index=True
    )
    training_name: Mapped[str] = mapped_column(String(200))
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    decision: Mapped[str | None] = mapped_column(String(10), nullable=True)  # approved / rejected
    reason: Mapped[str] = mapped_column(Text, default="")

    record: Mapped[HoursRecord | None] = relationship()
