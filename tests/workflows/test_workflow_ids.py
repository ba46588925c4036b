"""Each process's id comes from its business key, built beside its workflow: one process per key."""

from __future__ import annotations

from domain.credit_code import make_credit_code
from workflows.hours_declaration import declaration_workflow_id
from workflows.order import order_workflow_id
from workflows.personal_invoice import personal_invoice_workflow_id
from workflows.refund import refund_workflow_id
from workflows.study import study_workflow_id
from workflows.unit_invoice import unit_invoice_workflow_id
from workflows.unit_qualification import qualification_workflow_id


def test_workflow_ids_come_from_business_keys() -> None:
    code = make_credit_code("12430000MB0000001")
    assert qualification_workflow_id(code, 2) == f"unit-qualification-{code}-2"
    assert unit_invoice_workflow_id("U20261128223015-0042") == "unit-invoice-U20261128223015-0042"
    assert personal_invoice_workflow_id("P20261128223015-0007") == "invoice-P20261128223015-0007"
    assert order_workflow_id("20261128000001") == "order-20261128000001"
    assert declaration_workflow_id("SB20261128223015-0001") == "hours-SB20261128223015-0001"
    assert study_workflow_id(42) == "study-42" and refund_workflow_id(42) == "refund-42"
