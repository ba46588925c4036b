"""课程管理 rules: the course form, the 学时/courseware rule, and which states may be edited or sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from domain.courses import (
    HoursRule,
    hours_match,
    hours_mismatch_message,
    is_editable,
    parse_hours,
    parse_price,
    process_status,
    publication_refusal,
    state_label,
    validate_course_form,
)
from domain.errors import DomainError

RULE = HoursRule(minutes_per_hour=45, tolerance_minutes=5)


@pytest.mark.parametrize(("raw", "cents"), [("30", 3000), ("0.01", 1), ("12.50", 1250), (" 8 ", 800)])
def test_price_in_yuan_becomes_fen(raw: str, cents: int) -> None:
    assert parse_price(raw) == cents


@pytest.mark.parametrize("raw", ["0", "-1", "0.00", "1.005", "abc", "", "NaN", "Infinity", "100000.01"])
def test_price_of_zero_or_less_or_junk_is_refused(raw: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_price(raw)
    assert info.value.code == "CoursePriceInvalid"
    assert "必须大于0元" in info.value.message


@pytest.mark.parametrize(("raw", "hours"), [("1", Decimal(1)), ("0.5", Decimal("0.5")), ("12.5", Decimal("12.5"))])
def test_hours_are_whole_or_half(raw: str, hours: Decimal) -> None:
    assert parse_hours(raw) == hours


@pytest.mark.parametrize("raw", ["0", "-2", "1.3", "201", "x", "", "nan"])
def test_bad_hours_are_refused(raw: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_hours(raw)
    assert info.value.code == "CourseHoursInvalid"


def test_form_needs_title_category_major_and_subject() -> None:
    base: dict[str, Any] = dict(
        title=" 农村 电商 ",
        category_id=1,
        major_id=2,
        subject_category="public",
        hours="2",
        price="20",
        description=" 简介 ",
    )
    form = validate_course_form(**base)
    assert (form.title, form.hours, form.price_cents, form.description) == ("农村 电商", Decimal(2), 2000, "简介")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"title": " "}, "CourseTitleRequired"),
        ({"category_id": None}, "CourseCategoryRequired"),
        ({"major_id": 0}, "CourseMajorRequired"),
        ({"subject_category": "other"}, "SubjectCategoryInvalid"),
    ]
    for changes, code in cases:
        with pytest.raises(DomainError) as info:
            validate_course_form(**{**base, **changes})
        assert info.value.code == code


def test_hours_match_the_courseware_within_the_tolerance() -> None:
    assert hours_match("1", 45 * 60, RULE)
    assert hours_match("1", 40 * 60, RULE) and hours_match("1", 50 * 60, RULE)
    assert not hours_match("1", 39 * 60, RULE) and not hours_match("1", 51 * 60, RULE)
    assert hours_match("2", 90 * 60, RULE) and not hours_match("2", 45 * 60, RULE)
    assert hours_match("1", 33 * 60, HoursRule(30, 5))  # configurable: 1 学时 = 30 minutes


def test_publication_refusals_in_order() -> None:
    assert publication_refusal("1", 3000, [], RULE) == "CourseHasNoChapters"
    assert publication_refusal("1", 0, [2700], RULE) == "CoursePriceInvalid"
    assert publication_refusal("2", 3000, [1500, 1200], RULE) == "CourseHoursMismatch"
    assert publication_refusal("1", 3000, [1500, 1200], RULE) is None


def test_mismatch_message_names_the_numbers() -> None:
    text = hours_mismatch_message(Decimal("2"), 600, RULE)
    assert "2 学时应有约 90 分钟课件" in text and "现有课件共 10.0 分钟" in text and "允许相差 5 分钟" in text


def test_only_versions_never_on_sale_are_edited_in_place() -> None:
    assert is_editable("draft") and is_editable("rejected")
    for state in ("under_review", "published", "withdrawn", "superseded"):
        assert not is_editable(state)
    assert [state_label(s) for s in ("draft", "under_review", "published", "withdrawn", "rejected")] == [
        "草稿",
        "审核中",
        "已上架",
        "已下架",
        "已驳回",
    ]


def test_process_status_for_operators() -> None:
    assert process_status(on_sale=True, reviewing=True) == "under_review_on_sale"
    assert process_status(on_sale=False, reviewing=True) == "under_review"
    assert process_status(on_sale=True, reviewing=False) == "published"
    assert process_status(on_sale=False, reviewing=False) == "off_sale"
