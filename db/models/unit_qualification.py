"""集体开票资格: the projection written by UnitQualificationWorkflow's activities (activities/unit_qualification.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcnow
from db.models.users import User
from domain.unit_qualification import QualificationState


class UnitQualification(Base):
    """One application of a unit for the unit qualification (a rejected unit applies again: attempt n+1)."""

    __tablename__ = "unit_qualifications"
    # the workflow id unit-qualification-{credit_code}-{attempt} is unique; so is its row
    __table_args__ = (UniqueConstraint("credit_code", "attempt", name="uq_unit_qualifications_code_attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(20), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    unit_name: Mapped[str] = mapped_column(String(100), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # relative to settings.files_dir; the re-encoded 委托书 image
    authorization_path: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default=QualificationState.UNDER_REVIEW, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    workflow_id: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])

    @property
    def status_label(self) -> str:
        return QualificationState.LABELS.get(self.status, self.status)
