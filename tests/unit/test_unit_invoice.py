"""单位开票 rules: the application number, the ticked records and the e-mail, the query's 年份."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import DomainError
from domain.unit_invoice import make_application_no, parse_year, validate_unit_invoice_request


def test_application_numbers_carry_the_time_and_a_serial() -> None:
    no = make_application_no(datetime(2026, 11, 28, 14, 30, 15, tzinfo=UTC), 42)
    assert no == "U20261128223015-0042"


def test_unit_invoice_request() -> None:
    available = {"A": 4000, "B": 8000}
    assert validate_unit_invoice_request(["A"], available, set(), " unit@example.cn ") == "unit@example.cn"
    cases = [
        ([], "unit@example.cn", "NoRecordsSelected"),
        (["A", "C"], "unit@example.cn", "InvoiceAlreadyRequested"),  # C: another application holds it
        (["A", "D"], "unit@example.cn", "OrderNotInvoiceable"),  # D: refunded, or not the unit's
        (["B"], "not-an-email", "EmailInvalid"),
    ]
    for order_nos, email, code in cases:
        with pytest.raises(DomainError) as err:
            validate_unit_invoice_request(order_nos, available, {"C"}, email)
        assert err.value.code == code


@pytest.mark.parametrize("value", ["", "abc", "1999", None])
def test_year_is_required(value: str | None) -> None:
    with pytest.raises(DomainError) as err:
        parse_year(value)
    assert err.value.message == "请选择年份"
    assert parse_year("2026") == 2026
