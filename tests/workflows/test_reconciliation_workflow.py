"""ReconciliationWorkflow on the time-skipping server, with the real reconciliation and inbox
activities on the test database and a fake provider whose bills carry injected differences of every
kind: a payment without an order, an amount mismatch, a payment missing at the provider, a refund
missing at the provider and one missing in the app. Finance resolves each (refund, settle, explain);
a rerun opens no second task; the schedule's trigger reconciles yesterday once; stuck trades are
closed or settled.

RECORD_HISTORIES=1 re-records the history that tests/workflows/test_replay.py replays."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import workflow
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.reconciliation import ReconciliationActivities
from activities.tasks import TaskActivities
from db.models.catalog import School
from db.models.orders import Order, OrderStatus, Refund, RefundStatus
from db.models.reconciliation import DifferenceStatus, ReconciliationDifference, ReconciliationRun
from db.models.tasks import ReviewTask, TaskStatus
from db.models.users import Role, User
from domain.orders import OrderState, OrderView, PaymentReceived
from domain.reconciliation import DifferenceKind, previous_beijing_day, refund_no_for
from domain.review import Decision, ItemDecision
from gateways.payment import BillEntry, RefundReceipt, Trade, TradeState
from tests.conftest import time_skipping_env
from tests.workflows.histories import record
from workflows.reconciliation import ReconcileInput, ReconcileResult, ReconciliationWorkflow

QUEUE = "reconciliation-test"
BEIJING_10AM = timedelta(hours=2)  # 10:00 in Beijing is 02:00 UTC


@dataclass
class FakeProvider:
    """The gateway as the reconciliation sees it: bills per channel and day, trades, refunds."""

    bills: dict[tuple[str, str], list[BillEntry]] = field(default_factory=dict)
    trades: dict[str, Trade] = field(default_factory=dict)
    refunds: list[tuple[str, str, int]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    async def bill(self, *, channel: str, day: str) -> list[BillEntry]:
        return list(self.bills.get((channel, day), []))

    async def query(self, *, out_trade_no: str) -> Trade | None:
        return self.trades.get(out_trade_no)

    async def close(self, *, out_trade_no: str) -> None:
        self.closed.append(out_trade_no)

    async def refund(self, *, trade_no: str, refund_no: str, amount_cents: int) -> RefundReceipt:
        if (trade_no, refund_no, amount_cents) not in self.refunds:
            self.refunds.append((trade_no, refund_no, amount_cents))
        return RefundReceipt(refund_no, trade_no, amount_cents, datetime.now(UTC).isoformat())


@workflow.defn(name="OrderWorkflow", sandboxed=False)
class FakeOrderWorkflow:
    """Stands in for an order process that lost its notification: takes the payment once."""

    def __init__(self) -> None:
        self.payments: list[PaymentReceived] = []

    @workflow.run
    async def run(self, order_no: str) -> list[str]:
        await workflow.wait_condition(lambda: bool(self.payments))
        return [p.trade_no for p in self.payments]

    @workflow.update
    async def payment_received(self, payment: PaymentReceived) -> OrderView:
        self.payments.append(payment)
        return OrderView(order_no="", state=OrderState.PAID, amount_cents=payment.amount_cents, expires_at="")


@dataclass
class Rig:
    client: Client
    maker: async_sessionmaker[AsyncSession]
    provider: FakeProvider
    trainee_id: int
    school_id: int
    finance_id: int


@pytest_asyncio.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The reconciliation on a server of its own: after the schedule trigger's test the shared server's
    clock no longer advances, and the timer tests of later modules (unit_*_workflow) then time out."""
    async for env in time_skipping_env():
        yield env


@pytest_asyncio.fixture
async def rig(time_env: WorkflowEnvironment, sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Rig]:
    provider = FakeProvider()
    async with sessionmaker() as session:
        trainee_id = await session.scalar(select(User.id).where(User.role == Role.TRAINEE).limit(1))
        finance_id = await session.scalar(select(User.id).where(User.role == Role.FINANCE).limit(1))
        school_id = await session.scalar(select(School.id).limit(1))
    assert trainee_id and finance_id and school_id
    worker = Worker(
        time_env.client,
        task_queue=QUEUE,
        workflows=[ReconciliationWorkflow, FakeOrderWorkflow],
        activities=[
            *ReconciliationActivities(sessionmaker, provider).all(),
            *TaskActivities(sessionmaker).all(),
        ],
    )
    async with worker:
        yield Rig(time_env.client, sessionmaker, provider, trainee_id, school_id, finance_id)
        # a day still waiting on finance would hold the shared time-skipping server for later tests
        async with sessionmaker() as session:
            running = (await session.scalars(select(ReconciliationRun.workflow_id))).all()
        for workflow_id in running:
            with contextlib.suppress(Exception):
                await time_env.client.get_workflow_handle(workflow_id).terminate("test finished")


def _at(day: str, minutes: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + BEIJING_10AM + timedelta(minutes=minutes)


async def _paid_order(rig: Rig, order_no: str, trade_no: str, day: str, amount: int = 12000,
                      channel: str = "alipay") -> None:  # fmt: skip
    async with rig.maker() as session:
        session.add(
            Order(
                order_no=order_no,
                trainee_id=rig.trainee_id,
                school_id=rig.school_id,
                training_year=2025,
                training_type="professional",
                amount_cents=amount,
                status=OrderStatus.PAID,
                channel=channel,
                trade_no=trade_no,
                created_at=_at(day),
                expires_at=_at(day, 30),
                paid_at=_at(day, 1),
            )  # fmt: skip
        )
        await session.commit()


async def _refund(rig: Rig, refund_no: str, order_no: str, trade_no: str, day: str, amount: int) -> None:
    async with rig.maker() as session:
        session.add(
            Refund(
                refund_no=refund_no,
                order_no=order_no,
                trade_no=trade_no,
                amount_cents=amount,
                reason="withdraw",
                status=RefundStatus.DONE,
                created_at=_at(day, 5),
                done_at=_at(day, 5),
            )  # fmt: skip
        )
        await session.commit()


def _pay(channel: str, order_no: str, trade_no: str, day: str, amount: int = 12000) -> BillEntry:
    return BillEntry("payment", channel, f"{order_no}-{channel}", trade_no, amount, _at(day, 1).isoformat())


def _back(channel: str, order_no: str, trade_no: str, refund_no: str, day: str, amount: int) -> BillEntry:
    return BillEntry("refund", channel, f"{order_no}-{channel}", trade_no, amount, _at(day, 5).isoformat(), refund_no)


async def _start(rig: Rig, day: str):
    return await rig.client.start_workflow(
        ReconciliationWorkflow.run,
        ReconcileInput(day=day),
        id=f"reconcile-{day}",
        task_queue=QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def _tasks(rig: Rig, day: str) -> dict[str, ReviewTask]:
    async with rig.maker() as session:
        rows = (await session.scalars(select(ReviewTask).where(ReviewTask.task_key.like(f"reconcile:{day}:%")))).all()
    return {t.payload["kind"]: t for t in rows}


async def _wait_for_tasks(rig: Rig, day: str, n: int) -> dict[str, ReviewTask]:
    from tests.support import eventually

    async def check() -> dict[str, ReviewTask] | None:
        found = await _tasks(rig, day)
        return found if len(found) == n else None

    return await eventually(check)


async def _wait_for_run_done(rig: Rig, day: str) -> None:
    from tests.support import eventually

    async def done() -> bool:
        async with rig.maker() as session:
            run = await session.get(ReconciliationRun, day)
            return run is not None and run.status == "done"

    await eventually(done)


def _decision(task: ReviewTask, rig: Rig, action: str, note: str = "已核实") -> Decision:
    return Decision(task_id=task.id, reviewer_id=rig.finance_id, approve=True, reason=note,
                    items={action: ItemDecision(approve=True)})  # fmt: skip


async def test_every_kind_of_difference_opens_a_task_and_finance_resolves_each(rig: Rig) -> None:
    day, tag = "2025-06-01", uuid.uuid4().hex[:6]
    ok, mismatch, missing, refunded, late = (f"R{tag}{i}" for i in range(5))
    await _paid_order(rig, ok, f"2025060122001{tag}01", day)
    await _paid_order(rig, mismatch, f"2025060122001{tag}02", day)
    await _paid_order(rig, missing, f"4200{tag}0003", day, channel="wechat")
    await _paid_order(rig, refunded, f"4200{tag}0004", day, channel="wechat")
    await _refund(rig, f"W-{tag}-4", refunded, f"4200{tag}0004", day, 12000)  # the provider never made it
    await _paid_order(rig, late, f"2025060122001{tag}05", day)
    await _refund(rig, f"L-{tag}-5", late, f"2025060122001{tag}55", day, 12000)  # a late payment we refunded
    stranger = f"X{tag}"  # paid at the provider, unknown to us
    rig.provider.bills[("alipay", day)] = [
        _pay("alipay", ok, f"2025060122001{tag}01", day),
        _pay("alipay", mismatch, f"2025060122001{tag}02", day, amount=9900),
        _pay("alipay", late, f"2025060122001{tag}05", day),
        _pay("alipay", late, f"2025060122001{tag}55", day),
        _back("alipay", late, f"2025060122001{tag}55", f"L-{tag}-5", day, 12000),
        _pay("alipay", stranger, f"2025060122001{tag}06", day, amount=5000),
    ]
    rig.provider.bills[("wechat", day)] = [
        _pay("wechat", refunded, f"4200{tag}0004", day),
        _back("wechat", missing, f"4200{tag}0003", f"P-{tag}-7", day, 3000),  # a refund we never asked for
    ]
    handle = await _start(rig, day)
    tasks = await _wait_for_tasks(rig, day, 5)
    await _wait_for_run_done(rig, day)
    assert set(tasks) == {
        DifferenceKind.UNKNOWN_PAYMENT,
        DifferenceKind.AMOUNT_MISMATCH,
        DifferenceKind.PAYMENT_MISSING_AT_PROVIDER,
        DifferenceKind.REFUND_MISSING_AT_PROVIDER,
        DifferenceKind.REFUND_MISSING_IN_APP,
    }
    assert all(t.queue == "finance" and t.status == TaskStatus.OPEN for t in tasks.values())
    assert "¥50.00" in tasks[DifferenceKind.UNKNOWN_PAYMENT].subject

    # refusals: no action, an action the kind does not allow, no note
    task = tasks[DifferenceKind.PAYMENT_MISSING_AT_PROVIDER]
    for bad, message in (
        (Decision(task.id, rig.finance_id, approve=True, reason="x"), "请选择处理方式"),
        (_decision(task, rig, "refund"), "不能这样处理"),
        (_decision(task, rig, "explain", note=" "), "请填写处理说明"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await handle.execute_update(ReconciliationWorkflow.decide, bad)
        assert message in str(err.value.cause)

    unknown = tasks[DifferenceKind.UNKNOWN_PAYMENT]
    key = unknown.payload["key"]
    assert await handle.execute_update(ReconciliationWorkflow.decide, _decision(unknown, rig, "refund")) == "refund"
    assert (f"2025060122001{tag}06", refund_no_for(key), 5000) in rig.provider.refunds
    with pytest.raises(WorkflowUpdateFailedError):  # decided once
        await handle.execute_update(ReconciliationWorkflow.decide, _decision(unknown, rig, "explain"))

    gone = tasks[DifferenceKind.REFUND_MISSING_AT_PROVIDER]
    await handle.execute_update(ReconciliationWorkflow.decide, _decision(gone, rig, "refund", "补发退款"))
    assert (f"4200{tag}0004", f"W-{tag}-4", 12000) in rig.provider.refunds  # re-sent under its own number
    for kind in (
        DifferenceKind.AMOUNT_MISMATCH,
        DifferenceKind.PAYMENT_MISSING_AT_PROVIDER,
        DifferenceKind.REFUND_MISSING_IN_APP,
    ):
        await handle.execute_update(ReconciliationWorkflow.decide, _decision(tasks[kind], rig, "explain", "渠道确认"))

    result: ReconcileResult = await handle.result()
    assert result.differences == 5
    assert sorted(result.resolutions.values()) == ["explain", "explain", "explain", "refund", "refund"]
    async with rig.maker() as session:
        rows = (
            await session.scalars(select(ReconciliationDifference).where(ReconciliationDifference.day == day))
        ).all()
        run = await session.get(ReconciliationRun, day)
    assert {r.status for r in rows} == {DifferenceStatus.RESOLVED} and len(rows) == 5
    assert run is not None and run.differences == 5 and run.bill_lines == 8
    closed = await _tasks(rig, day)
    assert all(t.status == TaskStatus.DECIDED for t in closed.values())
    assert closed[DifferenceKind.REFUND_MISSING_IN_APP].reason == "标记为已说明：渠道确认"
    await record(handle, "reconciliation_resolved")


async def test_a_rerun_opens_no_second_task(rig: Rig) -> None:
    day, tag = "2025-06-02", uuid.uuid4().hex[:6]
    rig.provider.bills[("alipay", day)] = [_pay("alipay", f"Y{tag}", f"2025060222001{tag}01", day, amount=700)]
    handle = await _start(rig, day)
    [task] = (await _wait_for_tasks(rig, day, 1)).values()
    await _wait_for_run_done(rig, day)
    assert await handle.execute_update(ReconciliationWorkflow.rerun) == 1  # while waiting for finance
    assert len(await _tasks(rig, day)) == 1
    async with rig.maker() as session:
        count = await session.scalar(
            select(func.count()).select_from(ReviewTask).where(ReviewTask.task_key.like(f"reconcile:{day}:%"))
        )
        run = await session.get(ReconciliationRun, day)
    assert count == 1 and run is not None and run.runs == 2
    await handle.execute_update(ReconciliationWorkflow.decide, _decision(task, rig, "explain", "测试入账"))
    await handle.result()

    again = await _start(rig, day)  # an operator reruns the finished day
    result = await again.result()
    assert result.differences == 0 and result.resolutions == {}  # explained: nothing left to resolve
    async with rig.maker() as session:
        count = await session.scalar(
            select(func.count()).select_from(ReviewTask).where(ReviewTask.task_key.like(f"reconcile:{day}:%"))
        )
        run = await session.get(ReconciliationRun, day)
    assert count == 1
    assert run is not None and run.runs == 3 and run.differences == 1  # the day keeps its record


async def test_a_lost_notification_is_settled_into_its_order(rig: Rig) -> None:
    """The provider has a payment for an order we hold unpaid: 补单 hands it to the order process."""
    day, tag = "2025-06-03", uuid.uuid4().hex[:6]
    order_no = f"S{tag}"
    async with rig.maker() as session:
        session.add(
            Order(
                order_no=order_no,
                trainee_id=rig.trainee_id,
                school_id=rig.school_id,
                training_year=2025,
                training_type="professional",
                amount_cents=8800,
                status=OrderStatus.PENDING,
                channel="wechat",
                created_at=_at(day),
                expires_at=datetime.now(UTC) + timedelta(minutes=30),
            )  # fmt: skip
        )
        await session.commit()
    order = await rig.client.start_workflow(FakeOrderWorkflow.run, order_no, id=f"order-{order_no}", task_queue=QUEUE)
    rig.provider.bills[("wechat", day)] = [_pay("wechat", order_no, f"4200{tag}0009", day, amount=8800)]
    handle = await _start(rig, day)
    [task] = (await _wait_for_tasks(rig, day, 1)).values()
    await _wait_for_run_done(rig, day)
    assert task.payload["kind"] == DifferenceKind.UNKNOWN_PAYMENT
    assert (
        await handle.execute_update(ReconciliationWorkflow.decide, _decision(task, rig, "settle", "补单")) == "settle"
    )
    assert await order.result() == [f"4200{tag}0009"]
    await handle.result()


async def test_trades_stuck_waiting_are_closed_or_settled(rig: Rig) -> None:
    day, tag = "2025-06-04", uuid.uuid4().hex[:6]
    unpaid, paid = f"U{tag}", f"V{tag}"
    long_ago = datetime.now(UTC) - timedelta(hours=5)
    async with rig.maker() as session:
        for no in (unpaid, paid):
            session.add(
                Order(
                    order_no=no,
                    trainee_id=rig.trainee_id,
                    school_id=rig.school_id,
                    training_year=2025,
                    training_type="professional",
                    amount_cents=4400,
                    status=OrderStatus.PENDING,
                    channel="alipay",
                    created_at=long_ago,
                    expires_at=long_ago + timedelta(minutes=30),
                )  # fmt: skip
            )
        await session.commit()
    rig.provider.trades[f"{unpaid}-alipay"] = Trade(f"{unpaid}-alipay", "", "alipay", 4400, "", TradeState.NOTPAY, "")
    rig.provider.trades[f"{paid}-alipay"] = Trade(
        f"{paid}-alipay", f"2026{tag}01", "alipay", 4400, "", TradeState.SUCCESS, "", paid_at=long_ago.isoformat()
    )
    order = await rig.client.start_workflow(FakeOrderWorkflow.run, paid, id=f"order-{paid}", task_queue=QUEUE)
    result = await (await _start(rig, day)).result()
    assert result.stuck_closed >= 1 and result.stuck_settled >= 1
    assert f"{unpaid}-alipay" in rig.provider.closed
    assert await order.result() == [f"2026{tag}01"]
    async with rig.maker() as session:
        assert (await session.get(Order, unpaid)).status == OrderStatus.CLOSED  # type: ignore[union-attr]


async def test_the_schedule_trigger_reconciles_yesterday_once(rig: Rig, time_env: WorkflowEnvironment) -> None:
    first = await rig.client.execute_workflow(
        ReconciliationWorkflow.run, ReconcileInput(), id=f"reconcile-trigger-{uuid.uuid4()}", task_queue=QUEUE
    )
    yesterday = previous_beijing_day(await time_env.get_current_time())
    assert first.triggered and first.day == yesterday
    day_handle = rig.client.get_workflow_handle(f"reconcile-{yesterday}", result_type=ReconcileResult)
    assert (await day_handle.result()).day == yesterday
    run_id = (await day_handle.describe()).run_id
    second = await rig.client.execute_workflow(
        ReconciliationWorkflow.run, ReconcileInput(), id=f"reconcile-trigger-{uuid.uuid4()}", task_queue=QUEUE
    )
    assert second.triggered and second.day == yesterday
    assert (await day_handle.describe()).run_id == run_id  # the day's run was not started twice
