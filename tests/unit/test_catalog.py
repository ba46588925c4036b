from datetime import date
from decimal import Decimal

import pytest

from domain.catalog import (
    PaymentChannel,
    SubjectCategory,
    TrainingType,
    format_hours,
    format_money,
    offered_years,
    parse_payment_channel,
    parse_training_type,
    validate_training_year,
)
from domain.errors import DomainError


def test_labels() -> None:
    assert [c.label for c in SubjectCategory] == ["公共科目", "专业科目"]
    assert [t.label for t in TrainingType] == ["岗前培训", "在岗培训", "转岗培训", "专项培训"]
    assert PaymentChannel.alipay.label == "支付宝"
    assert PaymentChannel.wechat.label == "微信支付"
    assert TrainingType("in_post") is TrainingType.in_post


def test_parse_form_values() -> None:
    assert parse_training_type("special") is TrainingType.special
    assert parse_payment_channel("wechat") is PaymentChannel.wechat
    with pytest.raises(DomainError) as info:
        parse_training_type("")
    assert info.value.message == "请选择培训类型"
    with pytest.raises(DomainError) as info:
        parse_payment_channel("unionpay")
    assert info.value.message == "请选择支付方式（支付宝或微信支付）"


def test_offered_years() -> None:
    today = date(2026, 3, 1)
    assert offered_years(today, None) == [2026, 2025]
    assert offered_years(today, []) == [2026, 2025]
    assert offered_years(today, [2025, 2026, 2024]) == [2026, 2025, 2024]


def test_validate_training_year() -> None:
    offered = [2026, 2025]
    assert validate_training_year(2025, offered) == 2025
    with pytest.raises(DomainError) as info:
        validate_training_year(2024, offered)
    assert info.value.message == "该培训年份暂不开放，请选择当前年度或上一年度"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("2"), "2"),
        (Decimal("2.0"), "2"),
        (Decimal("1.5"), "1.5"),
        (1.5, "1.5"),
        (10, "10"),
        (Decimal("100"), "100"),
        (Decimal("0.5"), "0.5"),
        (0, "0"),
    ],
)
def test_format_hours(value: Decimal, text: str) -> None:
    assert format_hours(value) == text


@pytest.mark.parametrize(
    ("cents", "text"),
    [(1200, "¥12.00"), (5, "¥0.05"), (0, "¥0.00"), (123456, "¥1234.56"), (-350, "-¥3.50")],
)
def test_format_money(cents: int, text: str) -> None:
    assert format_money(cents) == text
