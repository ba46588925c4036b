"""Hours registry (学时登记) rules: declaration years, offline records, yearly progress."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_FLOOR, Decimal

from domain.errors import DomainError

HOURS_STEP = Decimal("0.5")


def allowed_declaration_years(today: date) -> tuple[int, int]:
    """(current year, previous year): the only years hours may be declared for."""
    return today.year, today.year - 1


def validate_declaration_year(year: int, today: date) -> int:
    """``year`` if it is the current or previous year, else ``HoursYearOutOfRange``."""
    if year not in allowed_declaration_years(today):
        raise DomainError("HoursYearOutOfRange")
    return year


def max_hours(start: date, end: date, max_hours_per_day: Decimal) -> Decimal:
    """The most hours a record from ``start`` to ``end`` (inclusive) may claim."""
    return Decimal((end - start).days + 1) * max_hours_per_day


def validate_offline_record(start: date, end: date, hours: Decimal, max_hours_per_day: Decimal) -> Decimal:
    """Checks one self-declared (offline) record and returns its hours.

    ``HoursDatesInvalid`` if end < start; ``HoursNotPositive`` for hours <= 0; ``HoursStepInvalid``
    unless a multiple of 0.5; ``HoursTooMany`` beyond (days inclusive × max per day).
    """
    if end < start:
        raise DomainError("HoursDatesInvalid")
    hours = Decimal(hours)
    if not hours.is_finite() or hours <= 0:
        raise DomainError("HoursNotPositive")
    if hours % HOURS_STEP != 0:
        raise DomainError("HoursStepInvalid")
    if hours > max_hours(start, end, Decimal(max_hours_per_day)):
        raise DomainError("HoursTooMany")
    return hours


def progress(total: Decimal, required: Decimal) -> tuple[int, Decimal]:
    """(percent of ``required`` reached, floored and capped at 100; hours still missing, >= 0)."""
    total = Decimal(total)
    required = Decimal(required)
    if required <= 0:
        return 100, Decimal(0)
    percent = int((total * 100 / required).to_integral_value(rounding=ROUND_FLOOR))
    return max(0, min(percent, 100)), max(required - total, Decimal(0))
