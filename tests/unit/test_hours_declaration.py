"""The 学时填报 form, the same-training rule and the school's per-record decisions (domain/hours.py)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.errors import DomainError
from domain.hours import (
    declaration_outcome,
    make_declaration_no,
    resolve_item_decisions,
    review_summary,
    same_training,
    validate_entry,
    validate_record_in_year,
)
from domain.review import Decision, ItemDecision

TODAY = date(2026, 6, 10)


def form(**overrides: str) -> dict:
    values = {
        "training_name": "  农技  推广培训 ",
        "organiser": "省农业农村厅",
        "start": "2026-06-01",
        "end": "2026-06-02",
        "subject_category": "professional",
        "training_type": "in_post",
        "hours": "16",
    }
    values.update(overrides)
    return {**values, "today": TODAY, "max_hours_per_day": Decimal(8)}


def test_valid_entry_is_cleaned() -> None:
    entry = validate_entry(**form())
    assert entry.training_name == "农技 推广培训"
    assert (entry.start, entry.end, entry.hours) == (date(2026, 6, 1), date(2026, 6, 2), Decimal(16))


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"training_name": " "}, "HoursNameRequired"),
        ({"organiser": ""}, "HoursOrganiserRequired"),
        ({"start": ""}, "HoursDateRequired"),
        ({"end": "2026/06/02"}, "HoursDateRequired"),
        ({"end": "2026-05-31"}, "HoursDatesInvalid"),
        ({"subject_category": "art"}, "SubjectCategoryInvalid"),
        ({"training_type": ""}, "TrainingTypeInvalid"),
        ({"hours": ""}, "HoursNotPositive"),
        ({"hours": "16.5"}, "HoursTooMany"),
        ({"hours": "2.25"}, "HoursStepInvalid"),
        ({"end": "2026-06-11", "hours": "8"}, "HoursDateInFuture"),
    ],
)
def test_entry_refusals(overrides: dict, code: str) -> None:
    with pytest.raises(DomainError) as info:
        validate_entry(**form(**overrides))
    assert info.value.code == code


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("1900-01-01", "1900-01-01"),  # a typo'd year
        ("2024-12-30", "2024-12-31"),  # two years back: can never be declared
        ("2024-03-01", "2024-03-03"),
    ],
)
def test_entry_in_a_year_that_can_never_be_declared_is_refused(start: str, end: str) -> None:
    with pytest.raises(DomainError) as info:
        validate_entry(**form(start=start, end=end, hours="8"))
    assert info.value.code == "HoursYearNeverDeclarable"
    assert "只能填报当前年度及上年度" in info.value.message


@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-01-01", "2025-01-01"), ("2024-12-31", "2025-01-01"), ("2026-06-10", "2026-06-10")],
)
def test_entry_touching_the_previous_or_current_year_is_kept(start: str, end: str) -> None:
    assert validate_entry(**form(start=start, end=end, hours="8")).start == date.fromisoformat(start)


def test_record_must_fall_in_the_declared_year() -> None:
    validate_record_in_year(date(2025, 12, 30), date(2026, 1, 2), 2025)
    validate_record_in_year(date(2025, 12, 30), date(2026, 1, 2), 2026)
    with pytest.raises(DomainError) as info:
        validate_record_in_year(date(2026, 3, 1), date(2026, 3, 1), 2025)
    assert info.value.message == "培训日期不在所选填报年份内"


def test_same_training_ignores_spacing_and_case_and_needs_overlap() -> None:
    d = date(2026, 5, 1)
    assert same_training("Python 培训", d, d, "python培训", d, date(2026, 5, 3))
    assert not same_training("Python 培训", d, d, "python培训", date(2026, 5, 2), date(2026, 5, 3))
    assert not same_training("甲", d, d, "乙", d, d)


def decision(approve: bool = True, reason: str = "", **items: ItemDecision) -> Decision:
    return Decision(task_id=1, reviewer_id=2, approve=approve, reason=reason,
                    items={k.lstrip("r"): v for k, v in items.items()})


def test_overall_decision_applies_to_every_record() -> None:
    assert resolve_item_decisions(decision(), [1, 2]) == {"1": ItemDecision(True), "2": ItemDecision(True)}
    rejected = resolve_item_decisions(decision(False, " 材料不全 "), [1])
    assert rejected == {"1": ItemDecision(False, "材料不全")}


def test_per_record_decisions() -> None:
    items = resolve_item_decisions(decision(r1=ItemDecision(True), r2=ItemDecision(False, "无盖章"),
                                            r9=ItemDecision(True)), [1, 2])
    assert items == {"1": ItemDecision(True), "2": ItemDecision(False, "无盖章")}
    assert declaration_outcome(items) == "partial"
    assert review_summary(items, {"2": "讲座"}) == "通过1条，驳回1条；「讲座」驳回：无盖章"


@pytest.mark.parametrize(
    ("d", "code"),
    [
        (decision(False), "RejectReasonRequired"),
        (decision(r1=ItemDecision(True), r2=ItemDecision(False, " ")), "RejectReasonRequired"),
        (decision(r1=ItemDecision(True)), "ItemDecisionRequired"),
        (decision(False, "不符", r1=ItemDecision(True), r2=ItemDecision(True)), "ItemDecisionConflict"),
    ],
)
def test_decision_refusals(d: Decision, code: str) -> None:
    with pytest.raises(DomainError) as info:
        resolve_item_decisions(d, [1, 2])
    assert info.value.code == code


def test_outcomes() -> None:
    assert declaration_outcome({"1": ItemDecision(True)}) == "approved"
    assert declaration_outcome({"1": ItemDecision(False, "x"), "2": ItemDecision(False, "y")}) == "rejected"


def test_declaration_no_is_readable_and_sortable() -> None:
    assert make_declaration_no(datetime(2026, 11, 28, 14, 30, 15, tzinfo=UTC), 42) == "SB20261128223015-0042"
