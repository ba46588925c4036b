"""The inbox-for-volume rules: who leads a queue, and when a bulk action may start."""

from __future__ import annotations

import pytest

from domain.review import BULK_MAX, Queue, bulk_refusal, leads_queue, queues_for


def test_the_finance_lead_works_the_finance_queue_and_leads_it() -> None:
    assert queues_for("finance_lead", None) == [Queue.FINANCE]
    assert leads_queue("finance_lead", Queue.FINANCE)
    assert not leads_queue("finance_lead", Queue.ADMIN)
    assert not leads_queue("finance_lead", Queue.school(1))


@pytest.mark.parametrize("role", ["finance", "admin", "school_reviewer", "trainee"])
def test_no_other_role_leads_a_queue(role: str) -> None:
    assert not any(leads_queue(role, q) for q in (Queue.FINANCE, Queue.ADMIN, Queue.school(1)))


@pytest.mark.parametrize(
    ("kinds", "count", "code"),
    [
        ({"personal_invoice"}, 1, None),
        ({"personal_invoice"}, BULK_MAX, None),
        (set(), 0, "BulkNothingSelected"),
        ({"personal_invoice"}, BULK_MAX + 1, "BulkTooMany"),
        ({"personal_invoice", "unit_invoice"}, 2, "BulkMixedKinds"),
    ],
)
def test_a_bulk_action_takes_one_kind_and_a_bounded_selection(kinds: set[str], count: int, code: str | None) -> None:
    assert bulk_refusal(kinds, count) == code
