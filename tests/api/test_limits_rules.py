"""The limit rules of api/limits.py on their own: messages name the field and its limit."""

from __future__ import annotations

import pytest

from api.limits import INT_MAX, check_field, check_text
from domain.errors import DomainError


def refusal(name: str, value: str, path: str = "") -> str:
    with pytest.raises(DomainError) as err:
        check_field(name, value, path)
    return err.value.message


def test_text_within_its_column_passes_and_one_more_character_is_refused() -> None:
    check_text("title", "湖" * 100)
    assert refusal("title", "湖" * 101) == "发票抬头不能超过100个字符"


def test_the_same_field_is_named_as_its_form_calls_it() -> None:
    assert refusal("tax_id", "9" * 21, "/my/invoices") == "纳税人识别号不能超过20个字符"
    assert refusal("tax_id", "9" * 21, "/group-invoicing/qualification") == "单位识别号不能超过20个字符"


def test_ids_must_fit_the_database_integer() -> None:
    check_field("course_id", str(INT_MAX))
    assert refusal("course_id", str(INT_MAX + 1)) == "课程超出允许范围"
    assert refusal("course_ids", str(2**63)) == "课程超出允许范围"
    assert refusal("record_ids", "9" * 10_000) == "学时记录超出允许范围"
    assert refusal("page", "0") == "页码超出允许范围"
    check_field("course_id", "abc")  # not a number at all: the endpoint gives its own message


def test_per_item_review_fields_and_unknown_fields_are_bounded_too() -> None:
    assert refusal("reason-17", "因" * 501) == "驳回原因不能超过500个字符"
    check_field("some_filter", "x" * 200)
    assert refusal("some_filter", "x" * 201) == "输入内容不能超过200个字符"
