"""单位管理员 rules: round dates before the deadline, which round a (re)run belongs to, 达标 / 未达标."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.compliance import deadline_for, parse_month_day, round_dates, round_for, standing, summary_text
from domain.errors import DomainError


def test_rounds_fall_the_configured_days_before_the_deadline() -> None:
    assert round_dates(2026, "11-30", [30, 7]) == [date(2026, 10, 31), date(2026, 11, 23)]
    assert round_dates(2026, "11-30", [7, 30, 7, -1]) == [date(2026, 10, 31), date(2026, 11, 23)]


def test_a_rerun_days_later_belongs_to_the_same_round() -> None:
    rounds = ("11-30", [30, 7])
    assert round_for(date(2026, 11, 23), *rounds) == date(2026, 11, 23)
    assert round_for(date(2026, 11, 26), *rounds) == date(2026, 11, 23)
    assert round_for(date(2026, 11, 5), *rounds) == date(2026, 10, 31)
    # started by hand before the first round: it is the first round
    assert round_for(date(2026, 6, 1), *rounds) == date(2026, 10, 31)


def test_a_deadline_no_year_has_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        parse_month_day("02-30")
    assert err.value.code == "ComplianceDeadlineInvalid"
    with pytest.raises(DomainError):
        parse_month_day("November")
    assert deadline_for(2027, "02-29") == date(2027, 2, 28)
    with pytest.raises(DomainError):
        round_for(date(2026, 1, 1), "11-30", [])


def test_standing_splits_public_and_professional_and_sources() -> None:
    s = standing(
        {("public", "platform"): Decimal("20"), ("professional", "platform"): Decimal("30"),
         ("professional", "self"): Decimal("10.5")},
        Decimal("90"),
    )
    assert (s.public, s.professional, s.platform, s.declared) == (20, Decimal("40.5"), 50, Decimal("10.5"))
    assert s.total == Decimal("60.5") and s.behind and s.label == "未达标"
    assert s.percent == 67 and s.missing == Decimal("29.5")
    done = standing({("public", "self"): Decimal("90")}, Decimal("90"))
    assert not done.behind and done.label == "达标" and done.percent == 100 and done.missing == 0


def test_the_unit_summary_names_everyone_behind() -> None:
    text = summary_text("某单位", 2026, [("张三", Decimal("12.5")), ("李四", Decimal("90"))], 5, "2026年11月30日")
    assert "共 5 人，未达标 2 人" in text
    assert "张三：还差 12.5 学时" in text and "李四：还差 90 学时" in text
