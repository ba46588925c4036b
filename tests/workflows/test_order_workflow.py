"""OrderWorkflow on the time-skipping server with recorded (fake) activities: the 30-minute close,
duplicate and late notifications, a payment after the close refunded once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.orders import (
    OrderInput,
    OrderLine,
    OrderRecord,
    PaymentApplied,
    PaymentReceived,
    RefundDone,
    RefundRequest,
    TradeOpened,
    TradeRequest,
)
from tests.workflows.histories import record
from workflows.common import PROCESS_STATUS
from workflows.order import OrderWorkflow
from workflows.refund import RefundWorkflow

QUEUE = "order-test"


@dataclass
class FakeOrderSide:
    """Stands in for the database and the provider; records every call."""

    calls: list[tuple[str, object]] = field(default_factory=list)

    def _log(self, name: str, arg: object) -> None:
        self.calls.append((name, arg))

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def activities(self) -> list:
        @activity.defn(name="orders.record_order")
        async def record_order(record: OrderRecord) -> None:
            self._log("record_order", record.input.order_no)

        @activity.defn(name="orders.open_trade")
        async def open_trade(req: TradeRequest) -> TradeOpened:
            self._log("open_trade", req.channel)
            return TradeOpened(f"{req.order_no}-{req.channel}", f"T-{req.channel}", f"http://sim/{req.channel}")

        @activity.defn(name="orders.close_trade")
        async def close_trade(out_trade_no: str) -> None:
            self._log("close_trade", out_trade_no)

        @activity.defn(name="orders.close_order")
        async def close_order(order_no: str, status: str) -> None:
            self._log("close_order", status)

        @activity.defn(name="orders.apply_payment")
        async def apply_payment(paid: PaymentReceived) -> PaymentApplied:
            self._log("apply_payment", paid.trade_no)
            return PaymentApplied(enrollment_ids=[1, 2])

        @activity.defn(name="orders.refund")
        async def refund(req: RefundRequest) -> RefundDone:
            self._log("refund", req)
            return RefundDone(req.refund_no, req.amount_cents, "2026-11-28T00:00:00+00:00")

        return [record_order, open_trade, close_trade, close_order, apply_payment, refund]


def order_input(no: str) -> OrderInput:
    return OrderInput(
        order_no=no,
        trainee_id=7,
        school_id=1,
        training_year=2026,
        training_type="in_post",
        lines=[OrderLine(1, "课程一", "4", 4000), OrderLine(2, "课程二", "8", 8000)],
        payment_timeout_seconds=30 * 60,
        late_payment_window_seconds=24 * 3600,
    )


def notice(no: str, trade_no: str = "T-alipay", amount: int = 12000) -> PaymentReceived:
    return PaymentReceived(f"{no}-alipay", trade_no, "alipay", amount, "2026-11-28T10:00:00+00:00")


@pytest.fixture
def env(time_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return time_env


async def start(client: Client, no: str) -> WorkflowHandle:
    """As checkout does: update-with-start, answered once the order is on record. (The time-skipping
    test server now and then loses an Update sent while the first workflow task is still running.)"""
    operation = WithStartWorkflowOperation(
        OrderWorkflow.run,
        order_input(no),
        id=f"order-{no}",
        task_queue=QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    await client.execute_update_with_start_workflow(OrderWorkflow.placed, start_workflow_operation=operation)
    return await operation.workflow_handle()


async def test_unpaid_order_closes_after_30_minutes_and_refunds_a_late_payment_once(env) -> None:
    side = FakeOrderSide()
    no = uuid.uuid4().hex[:10]
    async with Worker(env.client, task_queue=QUEUE, workflows=[OrderWorkflow], activities=side.activities()):
        handle = await start(env.client, no)
        await env.sleep(timedelta(minutes=29))
        assert "close_order" not in side.names()
        await env.sleep(timedelta(minutes=2))
        assert ("close_order", "closed") in side.calls

        # the provider delivers a payment that raced the close, twice
        await handle.execute_update(OrderWorkflow.payment_received, notice(no))
        await handle.execute_update(OrderWorkflow.payment_received, notice(no))
        await env.sleep(timedelta(minutes=1))
        refunds = [arg for name, arg in side.calls if name == "refund"]
        assert len(refunds) == 1
        assert refunds[0].reason == "late_payment" and refunds[0].amount_cents == 12000  # type: ignore[attr-defined]
        assert "apply_payment" not in side.names()  # a closed order enrolls nobody

        await env.sleep(timedelta(hours=25))
        assert await handle.result() == "closed"
        await record(handle, "order_closed_then_late_payment")


async def test_payment_enrolls_once_and_a_second_trade_is_refunded(env) -> None:
    side = FakeOrderSide()
    no = uuid.uuid4().hex[:10]
    async with Worker(env.client, task_queue=QUEUE, workflows=[OrderWorkflow], activities=side.activities()):
        handle = await start(env.client, no)
        answer = await handle.execute_update(OrderWorkflow.payment_received, notice(no))
        # answered once the enrollments are made: the web app moves the waiting pay page on with it
        assert answer.state == "paid" and side.names().count("apply_payment") == 1
        again = await handle.execute_update(OrderWorkflow.payment_received, notice(no))  # duplicate notification
        assert again.state == "paid"
        await env.sleep(timedelta(minutes=1))
        assert side.names().count("apply_payment") == 1
        # the trainee also paid with a second trade: refunded as a duplicate payment
        await handle.execute_update(OrderWorkflow.payment_received, notice(no, trade_no="T-second"))
        await env.sleep(timedelta(minutes=1))
        refunds = [arg for name, arg in side.calls if name == "refund"]
        assert [r.reason for r in refunds] == ["duplicate_payment"]  # type: ignore[attr-defined]
        assert "close_order" not in side.names()
        await env.sleep(timedelta(hours=25))
        assert await handle.result() == "paid"
        await record(handle, "order_paid_then_duplicate_trade")


async def test_payment_with_wrong_amount_does_not_pay_the_order(env) -> None:
    side = FakeOrderSide()
    no = uuid.uuid4().hex[:10]
    async with Worker(env.client, task_queue=QUEUE, workflows=[OrderWorkflow], activities=side.activities()):
        handle = await start(env.client, no)
        answer = await handle.execute_update(OrderWorkflow.payment_received, notice(no, amount=1))
        assert answer.state == "pending"  # answered at once: it will be refunded, not waited on
        await env.sleep(timedelta(minutes=31))
        assert "apply_payment" not in side.names()
        assert ("close_order", "closed") in side.calls
        refunds = [arg for name, arg in side.calls if name == "refund"]
        assert len(refunds) == 1 and refunds[0].amount_cents == 1  # type: ignore[attr-defined]
        await env.sleep(timedelta(hours=25))
        assert await handle.result() == "closed"


async def test_refunds_of_the_paid_order_move_its_process_status(temporal_client: Client) -> None:
    """退课 of every line: the RefundWorkflow tells the still-listening order 已退款 (its ProcessStatus
    too); a refund after the order's workflow has closed still completes. On the local dev server:
    a child of another workflow locks the time-skipping server's clock."""
    side = FakeOrderSide()
    states = iter(["part_refund", "refunded", "refunded"])

    @activity.defn(name="orders.refund")
    async def refund(req: RefundRequest) -> RefundDone:
        side.calls.append(("refund", req))
        return RefundDone(req.refund_no, req.amount_cents, "2026-11-28T00:00:00+00:00", order_state=next(states))

    fakes = [a for a in side.activities() if a.__name__ != "refund"] + [refund]
    queue = f"{QUEUE}-{uuid.uuid4().hex[:6]}"
    no = uuid.uuid4().hex[:10]
    async with Worker(temporal_client, task_queue=queue, workflows=[OrderWorkflow, RefundWorkflow], activities=fakes):
        operation = WithStartWorkflowOperation(
            OrderWorkflow.run,
            replace(order_input(no), late_payment_window_seconds=4),
            id=f"order-{no}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        await temporal_client.execute_update_with_start_workflow(
            OrderWorkflow.placed, start_workflow_operation=operation
        )
        order = await operation.workflow_handle()
        assert (await order.execute_update(OrderWorkflow.payment_received, notice(no))).state == "paid"

        async def withdraw(eid: int, amount: int) -> WorkflowHandle:
            req = RefundRequest(f"W-{eid}", no, "T-alipay", amount, "withdraw", eid)
            handle = await temporal_client.start_workflow(
                RefundWorkflow.run, req, id=f"refund-{no}-{eid}", task_queue=queue
            )
            await handle.result()
            return handle

        await withdraw(1, 4000)
        assert (await order.query(OrderWorkflow.view)).state == "part_refund"
        last = await withdraw(2, 8000)
        assert (await order.query(OrderWorkflow.view)).state == "refunded"
        assert (await order.describe()).typed_search_attributes.get(PROCESS_STATUS) == "refunded"
        assert await order.result() == "refunded"
        await record(order, "order_paid_then_refunded")
        await record(last, "refund_done_order_told")
        # the order's workflow has closed: a later refund finishes all the same
        late = await withdraw(3, 1)
        assert (await late.describe()).typed_search_attributes.get(PROCESS_STATUS) == "refunded"
