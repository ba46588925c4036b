"""消息中心 notice texts: each says what happened, links to it, and is keyed by its outcome."""

from __future__ import annotations

from decimal import Decimal

from domain import notices as n


def test_each_outcome_has_its_own_key_and_link() -> None:
    drafts = [
        n.payment_confirmed(1, "D1", 6000),
        n.order_closed(1, "D1"),
        n.refund_done(1, "D1", "R1", 6000),
        n.invoice_issued(1, "FP1", "26430000000000000001", "/my/invoices/FP1"),
        n.qualification_decided(1, 7, "某单位", True, ""),
        n.hours_decided(1, "SB1", 3, "培训", Decimal("8"), True, ""),
        n.hours_decided(1, "SB1", 4, "培训", Decimal("8"), False, "材料不清"),
        n.compliance_reminder(1, "2026-11-23", 2026, Decimal("30"), Decimal("90"), "2026年11月30日"),
    ]
    assert len({d.key for d in drafts}) == len(drafts)
    assert all(d.link.startswith("/") for d in drafts)
    assert drafts[0].link == "/orders/D1" and "¥60.00" in drafts[0].body


def test_a_rejection_carries_its_reason() -> None:
    assert "材料不清" in n.hours_decided(1, "SB1", 4, "培训", Decimal("8"), False, "材料不清").body
    assert "抬头有误" in n.invoice_rejected(1, "FP1", "抬头有误", "/my/invoices/FP1").body
    rejected = n.qualification_decided(1, 7, "某单位", False, "委托书不清晰")
    assert rejected.title == "集体开票资格已驳回" and "委托书不清晰" in rejected.body


def test_the_reminder_says_how_many_hours_are_missing_and_by_when() -> None:
    d = n.compliance_reminder(1, "2026-11-23", 2026, Decimal("30.5"), Decimal("90"), "2026年11月30日")
    assert "还差 59.5 学时" in d.body and "2026年11月30日" in d.body
    assert d.link == "/my/hours?year=2026"
