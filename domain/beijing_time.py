"""Beijing time: what a person sees, and every day or year derived from "now", is Asia/Shanghai;
storage stays UTC. Pure (a fixed UTC+8 offset: China has kept no daylight saving since 1991), so
workflows may use it too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def beijing_time(instant: datetime) -> datetime:
    """``instant`` on the trainees' clock; a naive value is taken as UTC (how the database returns it)."""
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    return aware.astimezone(BEIJING)


def beijing_today(instant: datetime) -> date:
    """The calendar day in Beijing at ``instant``: 2025-12-31 16:39 UTC is 2026-01-01."""
    return beijing_time(instant).date()
