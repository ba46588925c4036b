"""ReconciliationWorkflow (`reconcile-{day}`): the daily 对账 of one Beijing day.

A Temporal Schedule (`reconcile-daily`, workflows/reconciliation_schedule.py) starts it every morning without a day:
that run names yesterday and starts the day's own run as a child `reconcile-{day}` (a second start
of the same day is refused by the server, so the day is reconciled once however often it fires).

The day's run downloads each channel's bill through the gateway, compares it with our payments and
refunds (domain/reconciliation.py), records the differences and opens a finance task in the
reviewer inbox for each one still open; it also asks the provider about trades stuck waiting and
settles or closes them. Then it waits for finance to resolve every difference (the Update `decide`,
as for every inbox task: 退款 / 补单入账 / 标记为已说明, with a note) and ends. An operator may rerun the
day (the Update `rerun` while it waits, or a new run of the same id once it has ended): the
differences keep their keys, so a rerun opens no second task for any of them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from domain.catalog import format_money
    from domain.process_text import reconciliation_text
    from domain.reconciliation import (
        STUCK_AFTER_MINUTES,
        BillLine,
        BillRequest,
        Difference,
        FinishRun,
        LedgerRequest,
        ReconcileInput,
        RecordRun,
        Resolution,
        ResolveRequest,
        StuckRequest,
        allowed_actions,
        compare,
        previous_beijing_day,
    )
    from domain.review import CloseTask, Decision, OpenTask, Queue
    from workflows.common import BUSINESS_KEY, refuse, run_step, set_status
    from workflows.steps import reconciliation as steps
    from workflows.steps import tasks

CHANNELS = ("alipay", "wechat")
TASK_KIND = "reconciliation"
BILL_TIMEOUT = timedelta(minutes=5)
DUE_AFTER = timedelta(days=2)


@dataclass
class ReconcileResult:
    day: str
    differences: int = 0
    resolutions: dict[str, str] = field(default_factory=dict)  # difference key -> resolution
    stuck_closed: int = 0
    stuck_settled: int = 0
    triggered: bool = False  # the schedule's run: it only started the day's run


def summary_for(day: str) -> str:
    return f"对账 {day} · 支付宝 / 微信支付"


def reconciliation_workflow_id(day: str) -> str:
    """The run of one Beijing day (ISO date)."""
    return f"reconcile-{day}"


@workflow.defn
class ReconciliationWorkflow:
    def __init__(self) -> None:
        self.day = ""
        self.open_tasks: dict[int, Difference] = {}  # task id -> difference waiting for finance
        self.decided: set[int] = set()
        self.result = ReconcileResult(day="")
        self.reconciling = False
        self.rerun_requested = False
        self.stuck_after = STUCK_AFTER_MINUTES

    @workflow.run
    async def run(self, inp: ReconcileInput) -> ReconcileResult:
        if not inp.day:
            return await self._start_the_day(inp)
        self.day, self.stuck_after = inp.day, inp.stuck_after_minutes
        self.result = ReconcileResult(day=inp.day)
        workflow.upsert_search_attributes([BUSINESS_KEY.value_set(reconciliation_workflow_id(inp.day))])
        await self._reconcile()
        while True:
            await workflow.wait_condition(lambda: self.rerun_requested or self._all_resolved())
            if self.rerun_requested:
                await self._reconcile()
                continue
            break
        await workflow.wait_condition(workflow.all_handlers_finished)
        set_status("done")
        workflow.set_current_details(self._details())
        return self.result

    async def _start_the_day(self, inp: ReconcileInput) -> ReconcileResult:
        day = previous_beijing_day(workflow.now())
        # a second start of the day is refused: the day was reconciled already (or is being)
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                ReconciliationWorkflow.run,
                ReconcileInput(day=day, stuck_after_minutes=inp.stuck_after_minutes),
                id=reconciliation_workflow_id(day),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=summary_for(day),
                static_details=reconciliation_text(ReconcileInput(day=day)).details,
            )
        return ReconcileResult(day=day, triggered=True)

    def _all_resolved(self) -> bool:
        return all(task_id in self.decided for task_id in self.open_tasks)

    async def _reconcile(self) -> None:
        self.reconciling, self.rerun_requested = True, False
        set_status("reconciling")
        bill: list[BillLine] = []
        for channel in CHANNELS:
            bill += await run_step(steps.bill, BillRequest(channel=channel, day=self.day), timeout=BILL_TIMEOUT)
        ledger = await run_step(
            steps.ledger,
            LedgerRequest(
                day=self.day,
                trade_nos=sorted({b.trade_no for b in bill}),
                refund_nos=sorted({b.refund_no for b in bill if b.refund_no}),
                order_nos=sorted({b.out_trade_no.rsplit("-", 1)[0] for b in bill}),
            ),
        )
        differences = compare(self.day, bill, ledger)
        still_open: list[str] = await run_step(
            steps.record,
            RecordRun(
                day=self.day, workflow_id=workflow.info().workflow_id, bill_lines=len(bill), differences=differences
            ),
        )
        waiting = {d.key for d in self.open_tasks.values()}
        for diff in differences:
            if diff.key in still_open and diff.key not in waiting:
                task_id = await self._open_task(diff)
                self.open_tasks[task_id] = diff
        self.result.differences = len({d.key for d in differences} | {d.key for d in self.open_tasks.values()})
        await self._settle_stuck_trades()
        await run_step(
            steps.finish,
            FinishRun(day=self.day, stuck_closed=self.result.stuck_closed, stuck_settled=self.result.stuck_settled),
        )
        self.reconciling = False
        set_status("waiting_finance" if not self._all_resolved() else "reconciled")
        workflow.set_current_details(self._details())

    async def _settle_stuck_trades(self) -> None:
        stuck = await run_step(
            steps.stuck,
            StuckRequest(now=workflow.now().isoformat(), older_than_minutes=self.stuck_after),
        )
        for trade in stuck:
            outcome = await run_step(steps.check_stuck, trade)
            if outcome == "settled":
                self.result.stuck_settled += 1
            elif outcome == "closed":
                self.result.stuck_closed += 1

    async def _open_task(self, diff: Difference) -> int:
        amount = diff.provider_cents if diff.provider_cents is not None else diff.app_cents
        subject = f"对账差异 {diff.day} · {diff.label} · {diff.order_no}"
        if amount is not None:
            subject += f" · {format_money(amount)}"
        task_id: int = await run_step(
            tasks.open_task,
            OpenTask(
                task_key=f"reconcile:{diff.key}",
                kind=TASK_KIND,
                subject=subject[:200],
                queue=Queue.FINANCE,
                workflow_id=workflow.info().workflow_id,
                submitter_id=None,
                due_at=(workflow.now() + DUE_AFTER).isoformat(),
                payload={"key": diff.key, "kind": diff.kind, "day": diff.day},
            ),
        )
        await run_step(steps.link_task, diff.key, task_id)
        return task_id

    def _details(self) -> str:
        waiting = len([t for t in self.open_tasks if t not in self.decided])
        return (
            f"对账 {self.day}：差异 {self.result.differences} 笔，待财务处理 {waiting} 笔；"
            f"滞留交易关闭 {self.result.stuck_closed} 笔，补单 {self.result.stuck_settled} 笔"
        )

    # ---- finance's resolutions (the inbox's `decide`) ------------------------------------------

    @staticmethod
    def _action(decision: Decision) -> str:
        """The inbox form's clicked button names the resolution as its single item."""
        actions = [key for key, item in decision.items.items() if item.approve]
        return actions[0] if len(actions) == 1 else ""

    @workflow.update
    async def decide(self, decision: Decision) -> str:
        if decision.task_id in self.decided:
            raise refuse("TaskAlreadyDecided")
        self.decided.add(decision.task_id)  # a second decision in the same activation is refused above
        diff = self.open_tasks[decision.task_id]
        action = self._action(decision)
        try:
            await run_step(
                steps.resolve,
                ResolveRequest(key=diff.key, action=action, note=decision.reason, actor_id=decision.reviewer_id),
            )
        except Exception:
            self.decided.discard(decision.task_id)  # the task stays open: finance may choose again
            raise
        self.result.resolutions[diff.key] = action
        label = Resolution.LABELS.get(action, action)
        await run_step(
            tasks.close_task,
            CloseTask(
                task_id=decision.task_id,
                outcome="approved",
                actor_id=decision.reviewer_id,
                reason=f"{label}：{decision.reason}",
            ),  # fmt: skip
        )
        workflow.set_current_details(self._details())
        return action

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        if decision.task_id not in self.open_tasks and self.reconciling:
            raise refuse("ReconcileBusy")  # its task row exists, the run is still opening the others
        if decision.task_id not in self.open_tasks or decision.task_id in self.decided:
            raise refuse("TaskAlreadyDecided")
        action = self._action(decision)
        if not action:
            raise refuse("ReconcileActionRequired")
        if action not in allowed_actions(self.open_tasks[decision.task_id].kind):
            raise refuse("ReconcileActionNotAllowed")
        if not decision.reason.strip():
            raise refuse("ReconcileNoteRequired")

    @workflow.update
    async def rerun(self) -> int:
        """Downloads the bills and compares again; answers the number of differences of the day."""
        self.rerun_requested = True
        await workflow.wait_condition(lambda: not self.rerun_requested and not self.reconciling)
        return self.result.differences

    @rerun.validator
    def _validate_rerun(self) -> None:
        if self.reconciling or self.rerun_requested or not self.day:
            raise refuse("ReconcileBusy")
