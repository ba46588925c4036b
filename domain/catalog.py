"""Catalog enums with Chinese labels, training years and display formats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.errors import DomainError


class SubjectCategory(StrEnum):
    """科目类别."""

    public = "public"
    professional = "professional"

    @property
    def label(self) -> str:
        return {"public": "公共科目", "professional": "专业科目"}[self.value]


class TrainingType(StrEnum):
    """培训类型: the regulation's four kinds."""

    pre_job = "pre_job"
    in_post = "in_post"
    post_change = "post_change"
    special = "special"

    @property
    def label(self) -> str:
        return {
            "pre_job": "岗前培训",
            "in_post": "在岗培训",
            "post_change": "转岗培训",
            "special": "专项培训",
        }[self.value]


class PaymentChannel(StrEnum):
    """支付方式 at the cashier."""

    alipay = "alipay"
    wechat = "wechat"

    @property
    def label(self) -> str:
        return {"alipay": "支付宝", "wechat": "微信支付"}[self.value]


def parse_training_type(value: str | None) -> TrainingType:
    """The training type for a form value, or ``TrainingTypeInvalid``."""
    try:
        return TrainingType(value or "")
    except ValueError:
        raise DomainError("TrainingTypeInvalid") from None


def parse_payment_channel(value: str | None) -> PaymentChannel:
    """The payment channel for a form value, or ``PaymentChannelInvalid``."""
    try:
        return PaymentChannel(value or "")
    except ValueError:
        raise DomainError("PaymentChannelInvalid") from None


def offered_years(today: date, configured: list[int] | None = None) -> list[int]:
    """Training years a purchase may count toward, newest first (default: current, previous)."""
    if configured:
        return sorted(set(configured), reverse=True)
    return [today.year, today.year - 1]


def validate_training_year(year: int, offered: list[int]) -> int:
    """``year`` if offered, else ``YearNotOffered``."""
    if year not in offered:
        raise DomainError("YearNotOffered")
    return year


def format_hours(hours: Decimal | float | int | str) -> str:
    """ "2" for 2 or 2.0, "1.5" for 1.5 (at most one decimal, no trailing zero)."""
    text = f"{Decimal(str(hours)).quantize(Decimal('0.1')):f}"
    return text.rstrip("0").rstrip(".")


def format_money(cents: int) -> str:
    """ "¥12.00" for 1200 fen; "-¥3.50" for a negative amount."""
    sign = "-" if cents < 0 else ""
    yuan, fen = divmod(abs(cents), 100)
    return f"{sign}¥{yuan}.{fen:02d}"
