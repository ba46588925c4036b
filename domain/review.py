"""The reviewer inbox's shared shapes: every review process (invoice, qualification, hours) uses them."""

from __future__ import annotations

from dataclasses import dataclass, field


class Queue:
    """Candidate groups: who may claim and decide a task."""

    FINANCE = "finance"
    ADMIN = "admin"

    @staticmethod
    def school(school_id: int) -> str:
        return f"school:{school_id}"


class TaskKind:
    PERSONAL_INVOICE = "personal_invoice"
    UNIT_QUALIFICATION = "unit_qualification"
    UNIT_INVOICE = "unit_invoice"
    HOURS_DECLARATION = "hours_declaration"
    RECONCILIATION = "reconciliation"

    LABELS = {
        PERSONAL_INVOICE: "个人发票",
        UNIT_QUALIFICATION: "集体开票资格",
        UNIT_INVOICE: "单位开票",
        HOURS_DECLARATION: "学时申报",
        RECONCILIATION: "对账差异",
    }
    COURSE_PUBLICATION = "course_publication"
    LABELS[COURSE_PUBLICATION] = "课程上架"

    # the example in the reviewer's 审核意见 box: a reason of the kind being reviewed
    REASON_EXAMPLES = {
        PERSONAL_INVOICE: "例如：发票抬头与纳税人识别号不一致",
        UNIT_QUALIFICATION: "例如：委托书未加盖单位公章，请重新上传",
        UNIT_INVOICE: "例如：所选记录中有非本单位人员的订单",
        HOURS_DECLARATION: "例如：证明材料不清晰，无法核实培训学时",
    }


@dataclass
class OpenTask:
    task_key: str  # business key: the same workflow step never opens two tasks
    kind: str
    subject: str
    queue: str
    workflow_id: str
    submitter_id: int | None
    due_at: str  # ISO 8601
    payload: dict[str, str] = field(default_factory=dict)


@dataclass
class ItemDecision:
    approve: bool
    reason: str = ""


@dataclass
class Decision:
    """A reviewer's decision, sent to the workflow as the Update `decide`."""

    task_id: int
    reviewer_id: int
    approve: bool
    reason: str = ""
    # per-record decisions (hours declarations), keyed by str(record id)
    items: dict[str, ItemDecision] = field(default_factory=dict)


@dataclass
class CloseTask:
    task_id: int
    outcome: str  # approved / rejected / cancelled
    actor_id: int | None
    reason: str = ""


# a queue lead works the queue like its members and may also reassign a claimed task (改派)
QUEUE_LEADS = {"finance_lead": Queue.FINANCE}


def queues_for(role: str, school_id: int | None) -> list[str]:
    """The candidate groups a staff member belongs to (role names as in db.models.users.Role)."""
    if role in QUEUE_LEADS:
        return [QUEUE_LEADS[role]]
    if role == "finance":
        return [Queue.FINANCE]
    if role == "admin":
        return [Queue.ADMIN]
    if role == "school_reviewer" and school_id is not None:
        return [Queue.school(school_id)]
    return []


def decision_refusal(decision: Decision, waiting_task_id: int | None, decided: bool) -> str | None:
    """The refusal code for a decision the workflow must not accept, or None.

    Every review workflow's `decide` validator uses this, so the inbox behaves the same for all kinds."""
    if decided or waiting_task_id is None or decision.task_id != waiting_task_id:
        return "TaskAlreadyDecided"
    if not decision.approve and not decision.items and not decision.reason.strip():
        return "RejectReasonRequired"
    if any(not item.approve and not item.reason.strip() for item in decision.items.values()):
        return "RejectReasonRequired"
    return None


def leads_queue(role: str, queue: str) -> bool:
    """Whether this role is the lead of `queue` (may reassign its claimed tasks)."""
    return QUEUE_LEADS.get(role) == queue


# 批量处理: at most this many tasks at once (a page of the list and then some)
BULK_MAX = 50


def bulk_refusal(kinds: set[str], count: int) -> str | None:
    """Why a bulk claim or approval cannot start, or None: tasks of one kind, at least one, not too many."""
    if count == 0:
        return "BulkNothingSelected"
    if count > BULK_MAX:
        return "BulkTooMany"
    if len(kinds) > 1:
        return "BulkMixedKinds"
    return None
