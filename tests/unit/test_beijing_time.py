"""Beijing time at the midnight boundary: 2026-01-01 00:39 in Beijing is 2025-12-31 16:39 UTC, and
everything a person reads of it (order number, training years, application numbers) says 2026-01-01."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.beijing_time import beijing_time, beijing_today
from domain.catalog import offered_years
from domain.hours import allowed_declaration_years, make_declaration_no
from domain.orders import make_order_no
from domain.personal_invoice import make_application_no as personal_application_no
from domain.unit_invoice import make_application_no as unit_application_no

NEW_YEAR_0039 = datetime(2025, 12, 31, 16, 39, 5, tzinfo=UTC)


def test_today_in_beijing_is_past_midnight_while_utc_is_still_on_the_old_day() -> None:
    assert beijing_today(NEW_YEAR_0039) == date(2026, 1, 1)
    assert beijing_today(datetime(2025, 12, 31, 15, 59, 59, tzinfo=UTC)) == date(2025, 12, 31)
    assert beijing_time(NEW_YEAR_0039).strftime("%Y-%m-%d %H:%M") == "2026-01-01 00:39"


def test_a_naive_instant_is_taken_as_utc() -> None:
    assert beijing_today(datetime(2025, 12, 31, 16, 39)) == date(2026, 1, 1)


def test_order_number_carries_the_beijing_day_and_time() -> None:
    assert make_order_no(NEW_YEAR_0039, 7) == "20260101003905-000007"


def test_training_years_turn_at_beijing_midnight() -> None:
    today = beijing_today(NEW_YEAR_0039)
    assert offered_years(today) == [2026, 2025]
    assert allowed_declaration_years(today) == (2026, 2025)


def test_application_and_declaration_numbers_use_the_beijing_day() -> None:
    assert personal_application_no(NEW_YEAR_0039, 1).startswith("P20260101003905")
    assert unit_application_no(NEW_YEAR_0039, 1).startswith("U20260101003905")
    assert make_declaration_no(NEW_YEAR_0039, 1).startswith("SB20260101003905")


def test_certificate_date_is_the_beijing_day() -> None:
    from media.certificates import issued_on

    assert issued_on(NEW_YEAR_0039) == "2026年1月1日"
