"""部分退款 / 已退款 from what was refunded of the paid order, and the 退款单号 people read."""

from __future__ import annotations

from datetime import date

import pytest

from domain.orders import OrderState, make_refund_number, refund_number_seq, refund_state


@pytest.mark.parametrize(
    ("refunded", "state"),
    [
        (0, OrderState.PAID),
        (4000, OrderState.PARTLY_REFUNDED),
        (12000, OrderState.REFUNDED),
        (13000, OrderState.REFUNDED),
    ],
)
def test_refund_state_follows_the_refunded_amount(refunded: int, state: str) -> None:
    assert refund_state(12000, refunded) == state


def test_refund_number_is_tk_beijing_date_and_sequence() -> None:
    day = date(2026, 1, 1)
    assert make_refund_number(day, 3) == "TK202601010003"
    assert refund_number_seq("TK202601010003", day) == 3
    assert refund_number_seq("TK202512310009", day) == 0  # another day's numbers start again at 1
    assert refund_number_seq("", day) == 0
    assert make_refund_number(day, 12345) == "TK2026010112345"  # a busy day just grows longer
