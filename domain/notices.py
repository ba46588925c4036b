"""消息中心: the notices a trainee gets when an outcome that matters to them is recorded.

Pure builders: the activity that records an outcome calls one of these and writes the notice in the
same transaction (`db/notices.py`). Each notice has a key naming the outcome, so an activity run
again writes it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.catalog import format_hours, format_money


class NoticeKind:
    PAYMENT = "payment"  # 支付成功
    ORDER_CLOSED = "order_closed"  # 订单超时关闭
    REFUND = "refund"  # 退款完成
    INVOICE = "invoice"  # 发票已开具 / 已驳回 (personal or unit)
    QUALIFICATION = "qualification"  # 集体开票资格 已通过 / 已驳回
    HOURS = "hours"  # 学时记录 已通过 / 已驳回
    COMPLIANCE = "compliance"  # 学时未达标提醒

    LABELS = {
        PAYMENT: "支付",
        ORDER_CLOSED: "订单",
        REFUND: "退款",
        INVOICE: "发票",
        QUALIFICATION: "集体开票",
        HOURS: "学时",
        COMPLIANCE: "学时提醒",
    }


@dataclass(frozen=True)
class NoticeDraft:
    """One notice to write: ``key`` is unique per outcome (the idempotency key)."""

    user_id: int
    kind: str
    key: str
    title: str
    body: str
    link: str


def payment_confirmed(user_id: int, order_no: str, amount_cents: int) -> NoticeDraft:
    return NoticeDraft(
        user_id,
        NoticeKind.PAYMENT,
        f"paid:{order_no}",
        "支付成功",
        f"订单 {order_no} 已支付 {format_money(amount_cents)}，课程已加入我的课程。",
        f"/orders/{order_no}",
    )


def order_closed(user_id: int, order_no: str) -> NoticeDraft:
    return NoticeDraft(
        user_id,
        NoticeKind.ORDER_CLOSED,
        f"closed:{order_no}",
        "订单已关闭",
        f"订单 {order_no} 超时未支付，已自动关闭。如需学习，请重新选课下单。",
        f"/orders/{order_no}",
    )


def refund_done(user_id: int, order_no: str, refund_no: str, amount_cents: int) -> NoticeDraft:
    return NoticeDraft(
        user_id,
        NoticeKind.REFUND,
        f"refund:{refund_no}",
        "退款已完成",
        f"订单 {order_no} 的 {format_money(amount_cents)} 已退回原支付账户。",
        f"/orders/{order_no}",
    )


def invoice_issued(user_id: int, application_no: str, invoice_no: str, link: str) -> NoticeDraft:
    return NoticeDraft(
        user_id,
        NoticeKind.INVOICE,
        f"invoice:{application_no}",
        "发票已开具",
        f"发票申请 {application_no} 已开具电子发票，发票号码 {invoice_no}。",
        link,
    )


def invoice_rejected(user_id: int, application_no: str, reason: str, link: str) -> NoticeDraft:
    return NoticeDraft(
        user_id,
        NoticeKind.INVOICE,
        f"invoice:{application_no}",
        "发票申请已驳回",
        f"发票申请 {application_no} 未通过审核。驳回原因：{reason or '无'}",
        link,
    )


def qualification_decided(
    user_id: int, qualification_id: int, unit_name: str, approved: bool, reason: str
) -> NoticeDraft:
    if approved:
        title, body = "集体开票资格已通过", f"{unit_name}的集体开票资格已通过审核，可以申请单位开票。"
    else:
        title, body = "集体开票资格已驳回", f"{unit_name}的集体开票资格未通过审核。驳回原因：{reason or '无'}"
    return NoticeDraft(
        user_id, NoticeKind.QUALIFICATION, f"qualification:{qualification_id}", title, body, "/my/group-invoicing"
    )


def hours_decided(
    user_id: int, declaration_no: str, record_id: int, training_name: str, hours: Decimal, approved: bool, reason: str
) -> NoticeDraft:
    """One notice per record of a declaration: the school decides each record on its own."""
    if approved:
        title = "学时记录已通过"
        body = f"「{training_name}」{format_hours(hours)} 学时已通过学校审核，计入学时登记。"
    else:
        title = "学时记录已驳回"
        body = f"「{training_name}」未通过学校审核。驳回原因：{reason or '无'}。可修改后重新申报。"
    return NoticeDraft(
        user_id, NoticeKind.HOURS, f"hours:{declaration_no}:{record_id}", title, body, "/my/hours/records"
    )


def compliance_reminder(
    user_id: int, round_key: str, year: int, total: Decimal, required: Decimal, deadline: str
) -> NoticeDraft:
    missing = max(required - total, Decimal(0))
    return NoticeDraft(
        user_id,
        NoticeKind.COMPLIANCE,
        f"compliance:{round_key}",
        f"{year}年度学时未达标提醒",
        (
            f"您{year}年度已登记 {format_hours(total)} 学时，要求 {format_hours(required)} 学时，"
            f"还差 {format_hours(missing)} 学时。请在{deadline}前完成。"
        ),
        f"/my/hours?year={year}",
    )
