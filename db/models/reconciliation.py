"""Daily reconciliation (对账): one row per reconciled day and one per difference found.

Written only by the reconciliation workflow's activities (`activities/reconciliation.py`); the
page /staff/reconciliation reads them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class RunStatus:
    RUNNING = "running"
    DONE = "done"  # compared; differences may still wait for finance
    LABELS = {RUNNING: "对账中", DONE: "已完成"}


class ReconciliationRun(Base):
    __tablename__ = "reconciliation_runs"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # Beijing day, YYYY-MM-DD
    workflow_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.RUNNING)
    runs: Mapped[int] = mapped_column(Integer, default=1)  # 1 + reruns
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    bill_lines: Mapped[int] = mapped_column(Integer, default=0)
    differences: Mapped[int] = mapped_column(Integer, default=0)
    stuck_closed: Mapped[int] = mapped_column(Integer, default=0)
    stuck_settled: Mapped[int] = mapped_column(Integer, default=0)


class DifferenceStatus:
    OPEN = "open"
    RESOLVED = "resolved"
    LABELS = {OPEN: "待处理", RESOLVED: "已处理"}


class ReconciliationDifference(Base):
    __tablename__ = "reconciliation_differences"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # day:kind:number, stable across reruns
    day: Mapped[str] = mapped_column(String(10), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(10))
    order_no: Mapped[str] = mapped_column(String(64))
    trade_no: Mapped[str] = mapped_column(String(64), index=True)
    refund_no: Mapped[str] = mapped_column(String(64))
    provider_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    app_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    provider_at: Mapped[datetime | None] = mapped_column(nullable=True)  # when the provider moved the money
    status: Mapped[str] = mapped_column(String(10), default=DifferenceStatus.OPEN)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(10), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_refund_no: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    resolved_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
