from datetime import date
from decimal import Decimal

import pytest

from domain.errors import DomainError
from domain.hours import (
    allowed_declaration_years,
    max_hours,
    progress,
    validate_declaration_year,
    validate_offline_record,
)

TODAY = date(2026, 1, 5)
EIGHT = Decimal(8)


def test_declaration_years_are_current_and_previous() -> None:
    assert allowed_declaration_years(TODAY) == (2026, 2025)
    assert allowed_declaration_years(date(2025, 12, 31)) == (2025, 2024)


@pytest.mark.parametrize("year", [2026, 2025])
def test_allowed_years_pass(year: int) -> None:
    assert validate_declaration_year(year, TODAY) == year


@pytest.mark.parametrize("year", [2024, 2027, 0])
def test_other_years_refused(year: int) -> None:
    with pytest.raises(DomainError) as info:
        validate_declaration_year(year, TODAY)
    assert info.value.message == "只能填报当前年度及上年度的学时信息"


def test_record_within_limit() -> None:
    d = date(2025, 6, 1)
    assert validate_offline_record(d, d, Decimal("8"), EIGHT) == Decimal(8)
    assert validate_offline_record(d, date(2025, 6, 3), Decimal("24"), EIGHT) == Decimal(24)
    assert validate_offline_record(d, d, Decimal("0.5"), EIGHT) == Decimal("0.5")
    assert max_hours(d, date(2025, 6, 3), EIGHT) == Decimal(24)


def test_end_before_start() -> None:
    with pytest.raises(DomainError) as info:
        validate_offline_record(date(2025, 6, 2), date(2025, 6, 1), Decimal(2), EIGHT)
    assert info.value.message == "结束日期不能早于开始日期"


@pytest.mark.parametrize("hours", ["0", "-1", "NaN"])
def test_hours_must_be_positive(hours: str) -> None:
    d = date(2025, 6, 1)
    with pytest.raises(DomainError) as info:
        validate_offline_record(d, d, Decimal(hours), EIGHT)
    assert info.value.message == "学时数必须大于0"


def test_too_many_hours_for_the_days() -> None:
    d = date(2025, 6, 1)
    with pytest.raises(DomainError) as info:
        validate_offline_record(d, d, Decimal("8.5"), EIGHT)
    assert info.value.message == "学时数超过日期范围允许的上限"
    with pytest.raises(DomainError):
        validate_offline_record(d, date(2025, 6, 3), Decimal("24.5"), EIGHT)


def test_hours_in_half_steps() -> None:
    d = date(2025, 6, 1)
    with pytest.raises(DomainError) as info:
        validate_offline_record(d, d, Decimal("1.3"), EIGHT)
    assert info.value.code == "HoursStepInvalid"
    assert "0.5" in info.value.message


def test_progress() -> None:
    assert progress(Decimal(45), Decimal(90)) == (50, Decimal(45))
    assert progress(Decimal("89.5"), Decimal(90)) == (99, Decimal("0.5"))
    assert progress(Decimal(120), Decimal(90)) == (100, Decimal(0))
    assert progress(Decimal(0), Decimal(90)) == (0, Decimal(90))
    assert progress(Decimal(10), Decimal(0)) == (100, Decimal(0))
