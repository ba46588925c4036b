"""The texts an operator reads in the Temporal UI: one line per process, its facts, the live state."""

from __future__ import annotations

import pytest

from domain.hours import DeclarationInput
from domain.orders import OrderInput, OrderLine, RefundRequest
from domain.personal_invoice import InvoiceLine, PersonalInvoiceInput
from domain.process_text import process_text, study_progress
from domain.study import ChapterSpec, CourseRef, StudyInput, StudyRules
from domain.unit_invoice import UnitInvoiceInput, UnitInvoiceLine
from domain.unit_qualification import QualificationInput


def order(name: str = "张伟") -> OrderInput:
    lines = [OrderLine(1, "现代农业种植技术", "8", 8000), OrderLine(2, "法治政府建设与依法行政", "4", 4000)]
    return OrderInput("202612030001", 7, 1, 2026, "in_post", lines, 1800, 86400, trainee_name=name)


def test_order_summary_names_the_order_the_trainee_and_the_amount() -> None:
    text = process_text(order())
    assert text.summary == "订单 202612030001 · 张伟 · ¥120.00"
    assert text.live("paid") == "订单 202612030001 · 张伟 · ¥120.00 · 已支付"
    assert text.live("pending").endswith("· 待支付") and text.live("closed").endswith("· 已关闭")
    assert "现代农业种植技术（8 学时，¥80.00）" in text.details and "在岗培训" in text.details


def test_a_failed_process_says_so_and_an_unknown_state_shows_as_is() -> None:
    text = process_text(order())
    assert text.live("failed").endswith("· 失败")
    assert text.live("mystery").endswith("· mystery")


def test_an_order_started_without_a_name_still_says_whose_it_is() -> None:
    assert process_text(order(name="")).summary == "订单 202612030001 · 学员 #7 · ¥120.00"


def test_study_summary_and_progress() -> None:
    course = CourseRef(5, 1, 1, "1", [ChapterSpec(1, 1, "第一章", 60), ChapterSpec(2, 2, "第二章", 60)])
    inp = StudyInput(42, 7, 1, 2026, course, StudyRules(), trainee_name="李娜", course_title="演示课程")
    text = process_text(inp)
    assert text.summary == "学习 演示课程 · 李娜 · 2026 年度"
    assert text.live("studying", study_progress(1, 2)) == "学习 演示课程 · 李娜 · 2026 年度 · 学习中 · 已学 1/2 章"
    assert "2 章" in text.details and "选课 ID 42" in text.details


def test_refund_summary_says_why() -> None:
    text = process_text(RefundRequest("W-42", "202612030001", "T1", 6000, "withdraw", 42))
    assert text.summary == "退款 W-42 · 订单 202612030001 · ¥60.00 · 退课"
    assert text.live("refunded").endswith("· 已退款")


def test_invoice_qualification_and_hours_summaries() -> None:
    personal = PersonalInvoiceInput(
        "PI1", 7, "张伟", 1, "personal", "张伟", None, "a@b.cn", [InvoiceLine("O1", 12000)], "2026-12-03", 1, 2
    )
    assert process_text(personal).summary == "个人发票 PI1 · 张伟 · ¥120.00"
    assert process_text(personal).live("issued").endswith("· 已开票")
    qual = QualificationInput("91430100MA4L0000X1", 2, "湖南省农业科学院", 7, "张伟", "a.png", "2026-12-03", 1, 2)
    assert process_text(qual).summary == "集体开票资格 湖南省农业科学院 · 张伟 · 第 2 次申请"
    unit = UnitInvoiceInput(
        "UI1", 7, 3, 1, "湖南省农业科学院", "91430100MA4L0000X1", "a@b.cn", 2026,
        [UnitInvoiceLine("O1", 7, 6000), UnitInvoiceLine("O2", 8, 4000)], "2026-12-03", 1, 2,
    )  # fmt: skip
    assert process_text(unit).summary == "单位开票 UI1 · 湖南省农业科学院 · ¥100.00 · 2 笔订单"
    hours = DeclarationInput("HD1", 7, "王芳", 1, 2026, [3, 4, 5], 1, 2)
    assert process_text(hours).summary == "学时申报 HD1 · 王芳 · 2026 年度 · 3 条记录"
    assert process_text(hours).live("partial").endswith("· 部分通过")


def test_an_input_without_a_text_is_refused() -> None:
    with pytest.raises(TypeError, match="domain/process_text.py"):
        process_text(object())
