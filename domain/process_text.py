"""What an operator reads about a process in the Temporal UI (docs/OPERATIONS.md).

Each process gets a one-line summary and a few lines of details, fixed when it starts (the SDK's
user metadata: `static_summary` / `static_details`), and a live line set by the workflow on every
state change (`workflow.set_current_details`), e.g. `订单 202612030001 · 张伟 · ¥120.00 · 已支付`.
The texts come from the workflow's own input, so the starter (api/temporal.py) and the workflow
(workflows/common.py set_status) build the same words. Pure functions: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.catalog import TrainingType, format_money
from domain.compliance import ComplianceRoundInput
from domain.courses import CoursePublicationInput
from domain.hours import DeclarationInput, DeclarationState
from domain.orders import OrderInput, OrderState, RefundRequest
from domain.personal_invoice import InvoiceState, PersonalInvoiceInput
from domain.reconciliation import ReconcileInput
from domain.study import StudyInput, StudyStatus
from domain.unit_invoice import UnitInvoiceInput, UnitInvoiceState
from domain.unit_qualification import QualificationInput, QualificationState

SEP = " · "
FAILED_LABEL = "失败"  # workflows.common.FAILED: a step that cannot succeed stopped the process


@dataclass(frozen=True)
class ProcessText:
    summary: str  # one line: which process, whose, how much
    details: str  # Markdown lines: the facts an operator looks up
    states: dict[str, str] = field(default_factory=dict)  # ProcessStatus value -> Chinese label

    def live(self, status: str, *more: str) -> str:
        """The live line: the summary, the state in words, and any progress (`已学 2/3 章`)."""
        label = FAILED_LABEL if status == "failed" else self.states.get(status, status)
        return SEP.join([self.summary, label, *[m for m in more if m]])


ORDER_STATES = {
    OrderState.PENDING: "待支付",
    OrderState.PAID: "已支付",
    OrderState.CLOSED: "已关闭",
    OrderState.CANCELLED: "已取消",
    OrderState.PARTLY_REFUNDED: "部分退款",
    OrderState.REFUNDED: "已退款",
}
STUDY_STATES = {
    StudyStatus.NOT_STARTED: "未学习",
    StudyStatus.STUDYING: "学习中",
    StudyStatus.COMPLETED: "已学完",
    StudyStatus.WITHDRAWN: "已退课",
}
REFUND_STATES = {"refunding": "退款中", "refunded": "已退款"}
REFUND_REASONS = {"withdraw": "退课", "late_payment": "逾期支付", "duplicate_payment": "重复支付"}
# the declaration workflow's ProcessStatus when no record was left to review
HOURS_STATES = {**DeclarationState.LABELS, "empty": "无待审记录"}


def _who(name: str, user_id: int) -> str:
    return name or f"学员 #{user_id}"


def _lines(*rows: str) -> str:
    return "\n".join(rows)


def _training_type(value: str) -> str:
    try:
        return TrainingType(value).label
    except ValueError:
        return value


def order_text(order: OrderInput) -> ProcessText:
    courses = "、".join(f"{line.title}（{line.hours} 学时，{format_money(line.price_cents)}）" for line in order.lines)
    return ProcessText(
        summary=SEP.join(
            [f"订单 {order.order_no}", _who(order.trainee_name, order.trainee_id), format_money(order.amount_cents)]
        ),
        details=_lines(
            f"**购买支付** 订单 {order.order_no}",
            f"- 课程：{courses}",
            f"- 培训年度：{order.training_year} · 培训类型：{_training_type(order.training_type)}",
            f"- 学员 ID {order.trainee_id} · 学校 ID {order.school_id}",
        ),
        states=ORDER_STATES,
    )


def study_text(inp: StudyInput) -> ProcessText:
    course = inp.course_title or f"课程 #{inp.course.course_id}"
    return ProcessText(
        summary=SEP.join([f"学习 {course}", _who(inp.trainee_name, inp.trainee_id), f"{inp.training_year} 年度"]),
        details=_lines(
            f"**课程学习** 选课 ID {inp.enrollment_id}",
            f"- 课程：{course}（{inp.course.hours} 学时，{len(inp.course.chapters)} 章）",
            f"- 学员 ID {inp.trainee_id} · 学校 ID {inp.school_id}",
        ),
        states=STUDY_STATES,
    )


def study_progress(chapters_done: int, chapters: int) -> str:
    return f"已学 {chapters_done}/{chapters} 章"


def refund_text(req: RefundRequest) -> ProcessText:
    reason = REFUND_REASONS.get(req.reason, req.reason)
    return ProcessText(
        summary=SEP.join([f"退款 {req.refund_no}", f"订单 {req.order_no}", format_money(req.amount_cents), reason]),
        details=_lines(
            f"**退款** {req.refund_no}（退款单号即支付平台的幂等键，同一单号只退一次）",
            f"- 订单 {req.order_no} · 交易号 {req.trade_no}",
            f"- 原因：{reason}" + (f" · 选课 ID {req.enrollment_id}" if req.enrollment_id is not None else ""),
        ),
        states=REFUND_STATES,
    )


def personal_invoice_text(app: PersonalInvoiceInput) -> ProcessText:
    orders = "、".join(line.order_no for line in app.lines)
    return ProcessText(
        summary=SEP.join(
            [f"个人发票 {app.application_no}", _who(app.trainee_name, app.trainee_id), format_money(app.amount_cents)]
        ),
        details=_lines(
            f"**个人发票** 申请 {app.application_no}",
            f"- 抬头：{app.title}" + (f" · 税号 {app.tax_id}" if app.tax_id else ""),
            f"- 订单：{orders}",
            f"- 接收邮箱：{app.email} · 提交于 {app.submitted_at}",
        ),
        states=InvoiceState.LABELS,
    )


def unit_qualification_text(application: QualificationInput) -> ProcessText:
    return ProcessText(
        summary=SEP.join(
            [f"集体开票资格 {application.unit_name}", application.applicant_name, f"第 {application.attempt} 次申请"]
        ),
        details=_lines(
            f"**集体开票资格** {application.unit_name}",
            f"- 统一社会信用代码 {application.credit_code} · 第 {application.attempt} 次申请",
            f"- 申请人 {application.applicant_name}（ID {application.applicant_id}）"
            f" · 提交于 {application.submitted_at}",
        ),
        states=QualificationState.LABELS,
    )


def unit_invoice_text(application: UnitInvoiceInput) -> ProcessText:
    return ProcessText(
        summary=SEP.join(
            [
                f"单位开票 {application.application_no}",
                application.unit_name,
                format_money(application.amount_cents),
                f"{len(application.lines)} 笔订单",
            ]
        ),
        details=_lines(
            f"**单位开票** 申请 {application.application_no}",
            f"- 单位：{application.unit_name} · 税号 {application.tax_id} · {application.training_year} 年度",
            f"- 订单：{'、'.join(line.order_no for line in application.lines)}",
            f"- 申请人 ID {application.applicant_id} · 学校 ID {application.school_id}"
            f" · 提交于 {application.submitted_at}",
        ),
        states=UnitInvoiceState.LABELS,
    )


def hours_declaration_text(d: DeclarationInput) -> ProcessText:
    return ProcessText(
        summary=SEP.join(
            [
                f"学时申报 {d.declaration_no}",
                _who(d.trainee_name, d.trainee_id),
                f"{d.year} 年度",
                f"{len(d.record_ids)} 条记录",
            ]
        ),
        details=_lines(
            f"**学时申报** {d.declaration_no}",
            f"- 学员 ID {d.trainee_id} · 审核学校 ID {d.school_id} · {d.year} 年度",
            f"- 申报记录 ID：{'、'.join(str(r) for r in d.record_ids)}",
        ),
        states=HOURS_STATES,
    )


def course_publication_text(inp: CoursePublicationInput) -> ProcessText:
    return ProcessText(
        summary=SEP.join([f"课程上架 {inp.title}", f"课程 #{inp.lineage_id}", f"学校 ID {inp.school_id}"]),
        details=_lines(
            f"**课程上架** {inp.title}",
            f"- 课程 #{inp.lineage_id} 的每一版：提交审核 → 平台管理员审核 → 已上架；下架",
        ),
        states={
            "under_review": "审核中",
            "under_review_on_sale": "已上架 · 新版本审核中",
            "published": "已上架",
            "off_sale": "未上架",
        },
    )


def compliance_round_text(inp: ComplianceRoundInput) -> ProcessText:
    label = f"第 {inp.round_key} 轮" if inp.round_key else "按计划启动的一轮"
    scope = f"{len(inp.only_credit_codes)} 个单位" if inp.only_credit_codes else "全部单位"
    return ProcessText(
        summary=SEP.join(["学时达标提醒", label, scope]),
        details=_lines("**学时达标提醒**", f"- {label} · {scope}：提醒未达标学员，并向单位管理员发送汇总"),
        states={"running": "提醒中", "done": "已完成"},
    )


def reconciliation_text(inp: ReconcileInput) -> ProcessText:
    day = inp.day or "昨日"
    return ProcessText(
        summary=SEP.join(["对账", day]),
        details=_lines(
            f"**对账** {day}",
            "- 支付宝、微信支付对账单与平台支付、退款逐笔核对；差异交财务处理",
            f"- 滞留超过 {inp.stuck_after_minutes:g} 分钟的交易查询后关闭或补单",
        ),
        states={"reconciling": "对账中", "waiting_finance": "待财务处理", "reconciled": "已对平", "done": "已完成"},
    )


# input type of each workflow -> its text; tests/workflows/test_process_text.py checks that every
# workflow registered in worker.py has one
TEXT_OF: dict[type, Callable[[Any], ProcessText]] = {
    OrderInput: order_text,
    StudyInput: study_text,
    RefundRequest: refund_text,
    PersonalInvoiceInput: personal_invoice_text,
    QualificationInput: unit_qualification_text,
    UnitInvoiceInput: unit_invoice_text,
    DeclarationInput: hours_declaration_text,
    CoursePublicationInput: course_publication_text,
    ComplianceRoundInput: compliance_round_text,
    ReconcileInput: reconciliation_text,
}


def process_text(inp: object) -> ProcessText:
    """The text of the process that `inp` starts; a workflow input without one is a programming error."""
    build = TEXT_OF.get(type(inp))
    if build is None:
        raise TypeError(f"no process text for {type(inp).__name__}: add one to domain/process_text.py")
    return build(inp)
