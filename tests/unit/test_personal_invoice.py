"""个人发票 rules: the 发票申请 form, what of an order can be invoiced, and the inbox's decision rule."""

from __future__ import annotations

import pytest

from domain.credit_code import make_credit_code
from domain.errors import DomainError
from domain.personal_invoice import invoiceable_cents, validate_application
from domain.review import Decision, ItemDecision, decision_refusal, queues_for

CODE = make_credit_code("12430000MA4L00012")
ORDERS = {"A": (1, 4000), "B": (1, 8000), "C": (2, 3000)}


def check(order_nos: list[str], held: set[str] | None = None, **fields: str):
    form = {"title_type": "personal", "title": "张三", "tax_id": "", "email": "zs@example.cn"} | fields
    return validate_application(order_nos=order_nos, invoiceable=ORDERS, held=held or set(), **form)


@pytest.mark.parametrize(
    ("order_nos", "held", "fields", "code"),
    [
        ([], set(), {}, "InvoiceOrdersRequired"),
        (["A"], {"A"}, {}, "InvoiceAlreadyRequested"),
        (["X"], set(), {}, "OrderNotInvoiceable"),
        (["A", "C"], set(), {}, "InvoiceMixedSchools"),
        (["A"], set(), {"title_type": "unit", "title": "某单位"}, "TaxIdRequired"),
        (["A"], set(), {"title_type": "unit", "title": "某单位", "tax_id": CODE[:-1] + "Y"}, "CreditCodeInvalid"),
        (["A"], set(), {"tax_id": "ABC"}, "TaxIdInvalid"),
        (["A"], set(), {"email": "no-at-sign"}, "EmailInvalid"),
        (["A"], set(), {"title": ""}, "TitleRequired"),
    ],
)
def test_refusals(order_nos, held, fields, code) -> None:
    with pytest.raises(DomainError) as err:
        check(order_nos, held, **fields)
    assert err.value.code == code


def test_a_unit_title_keeps_its_normalised_code() -> None:
    buyer = check(["A", "B"], title_type="unit", title=" 湖南省农业科学院 ", tax_id=CODE.lower(), email=" a@b.cn ")
    assert (buyer.title_type, buyer.title, buyer.tax_id, buyer.email) == ("unit", "湖南省农业科学院", CODE, "a@b.cn")


def test_a_personal_title_may_leave_the_tax_id_empty() -> None:
    assert check(["A"]).tax_id is None


def test_only_refunds_of_the_accepted_payment_reduce_what_can_be_invoiced() -> None:
    assert invoiceable_cents(12000, "T1", []) == 12000
    assert invoiceable_cents(12000, "T1", [("T1", 4000), ("T2", 12000)]) == 8000
    assert invoiceable_cents(12000, "T1", [("T1", 12000)]) == 0


def test_decision_rule() -> None:
    ok = Decision(task_id=5, reviewer_id=1, approve=True)
    assert decision_refusal(ok, 5, decided=False) is None
    assert decision_refusal(ok, 5, decided=True) == "TaskAlreadyDecided"
    assert decision_refusal(ok, 6, decided=False) == "TaskAlreadyDecided"  # not the task it waits for
    assert decision_refusal(ok, None, decided=False) == "TaskAlreadyDecided"
    assert decision_refusal(Decision(5, 1, False, "  "), 5, False) == "RejectReasonRequired"
    items = {"1": ItemDecision(True), "2": ItemDecision(False, "")}
    assert decision_refusal(Decision(5, 1, False, items=items), 5, False) == "RejectReasonRequired"
    items["2"] = ItemDecision(False, "日期不符")
    assert decision_refusal(Decision(5, 1, False, items=items), 5, False) is None


def test_queues_by_role() -> None:
    assert queues_for("finance", None) == ["finance"]
    assert queues_for("admin", None) == ["admin"]
    assert queues_for("school_reviewer", 3) == ["school:3"]
    assert queues_for("school_reviewer", None) == [] and queues_for("trainee", None) == []
