"""单位管理员 compliance rounds: who was reminded in which round (ComplianceRoundWorkflow's activities).

One row per round and recipient (a trainee behind, or a unit's administrators for the summary):
claimed before the mail goes out, so a rerun of the round reminds nobody twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class ComplianceReminder(Base):
    __tablename__ = "compliance_reminders"
    __table_args__ = (UniqueConstraint("round_key", "recipient", name="uq_compliance_reminders_round_recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_key: Mapped[str] = mapped_column(String(20), index=True)  # e.g. 2026-11-23
    recipient: Mapped[str] = mapped_column(String(40))  # trainee:{id} / unit:{credit code}
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    trainee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    total_hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the reminder went out (notice written, mail sent when there is an address)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
