"""The search attributes every process is found by (README: visibility queries)."""

from __future__ import annotations

from workflows.common import BUSINESS_KEY, ORDER_NO, PROCESS_STATUS, SCHOOL_ID, TRAINEE_ID, process_attributes


def test_process_attributes_are_keywords_and_only_the_given_ones() -> None:
    attrs = process_attributes("pending", trainee_id=7, school_id=1, order_no="20261203-0001")
    assert attrs.get(PROCESS_STATUS) == "pending"
    assert attrs.get(TRAINEE_ID) == "7" and attrs.get(SCHOOL_ID) == "1"
    assert attrs.get(ORDER_NO) == "20261203-0001"
    assert attrs.get(BUSINESS_KEY) is None
    assert len(attrs) == 4
