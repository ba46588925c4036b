"""The reviewer inbox's view of a reconciliation difference (kind `reconciliation`): what the
provider's bill and our books say, and the resolutions this kind of difference allows."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.inbox_kinds import loader
from db.models.orders import Order
from db.models.reconciliation import ReconciliationDifference
from db.models.tasks import ReviewTask
from domain.reconciliation import DifferenceKind, allowed_actions

HINTS = {
    DifferenceKind.UNKNOWN_PAYMENT: "渠道已收款，但平台没有与之对应的订单支付（可能是通知丢失或重复付款）。"
    "可补单入账（订单仍在等待支付时），或原路退款。",
    DifferenceKind.AMOUNT_MISMATCH: "渠道账单金额与平台记录不一致。可退还多收部分，或核实后标记为已说明。",
    DifferenceKind.PAYMENT_MISSING_AT_PROVIDER: "平台记录已支付，但渠道账单中没有这笔收款，请与渠道核实。",
    DifferenceKind.REFUND_MISSING_AT_PROVIDER: "平台记录已退款，但渠道账单中没有这笔退款。"
    "可按原退款单号重新发起退款（不会重复退款）。",
    DifferenceKind.REFUND_MISSING_IN_APP: "渠道账单有退款，但平台没有记录，请核实后说明。",
}


@loader("reconciliation")
async def reconciliation(session: AsyncSession, task: ReviewTask) -> dict[str, Any]:
    diff = await session.get(ReconciliationDifference, (task.payload or {}).get("key", ""))
    if diff is None:
        return {"fields": [("差异", "记录不存在")], "own_decision_form": False}
    order = await session.get(Order, diff.order_no)
    return {
        "difference": diff,
        "order": order,
        "hint": HINTS.get(diff.kind, ""),
        "actions": allowed_actions(diff.kind),
        "own_decision_form": True,  # the generic 通过/驳回 form is replaced by the resolutions
    }
