"""Order activities are safe to run twice: a worker killed after the side effect retries it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from activities.orders import OrderActivities
from db.models.orders import Enrollment, Order, Refund
from domain.orders import OrderInput, OrderLine, OrderRecord, PaymentReceived, RefundRequest
from gateways.simulator import SimulatorGateway
from tests.support import make_trainee


async def test_record_and_apply_payment_twice_enrolls_once(sessionmaker, settings) -> None:
    trainee = await make_trainee(sessionmaker)
    gateway = SimulatorGateway(sessionmaker, settings)
    acts = OrderActivities(sessionmaker, gateway)
    no = uuid.uuid4().hex[:12]
    now = datetime.now(UTC)
    order = OrderInput(no, trainee.id, 1, now.year, "in_post", [OrderLine(2, "课程", "6", 6000)], 1800, 3600)
    record = OrderRecord(order, now.isoformat(), (now + timedelta(minutes=30)).isoformat())
    await acts.record_order(record)
    await acts.record_order(record)
    paid = PaymentReceived(f"{no}-alipay", "T1", "alipay", 6000, now.isoformat())
    first = await acts.apply_payment(paid)
    second = await acts.apply_payment(paid)
    assert first.enrollment_ids == second.enrollment_ids and len(first.enrollment_ids) == 1
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Order).where(Order.order_no == no)) == 1
        assert (await s.get(Order, no)).status == "paid"
        count = await s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.order_no == no))
    assert count == 1


async def test_refund_with_the_same_number_pays_back_once(sessionmaker, settings) -> None:
    trainee = await make_trainee(sessionmaker)
    gateway = SimulatorGateway(sessionmaker, settings)
    acts = OrderActivities(sessionmaker, gateway)
    no = uuid.uuid4().hex[:12]
    now = datetime.now(UTC)
    order = OrderInput(no, trainee.id, 1, now.year, "in_post", [OrderLine(3, "课程", "4", 4000)], 1800, 3600)
    await acts.record_order(OrderRecord(order, now.isoformat(), (now + timedelta(minutes=30)).isoformat()))
    trade = await gateway.precreate(
        order_no=no,
        channel="alipay",
        amount_cents=4000,
        subject="t",
        expires_at=(now + timedelta(minutes=30)).isoformat(),
    )
    await gateway.pay(trade.trade_no)
    req = RefundRequest(f"R-{no}", no, trade.trade_no, 4000, "late_payment")
    await acts.refund(req)
    await acts.refund(req)  # a retry after a crash
    async with sessionmaker() as s:
        rows = (await s.scalars(select(Refund).where(Refund.order_no == no))).all()
    assert len(rows) == 1 and rows[0].status == "done"
    state = await gateway.query(out_trade_no=trade.out_trade_no)
    assert state is not None and state.state == "REFUND"


async def test_a_course_bought_twice_in_parallel_is_enrolled_once_and_its_price_returned(
    sessionmaker, settings
) -> None:
    """Two orders for the same course and year both passed checkout before either was paid: the
    second payment enrolls nothing for that line and hands its price back for a refund; the other
    line of that order is enrolled."""
    trainee = await make_trainee(sessionmaker)
    acts = OrderActivities(sessionmaker, SimulatorGateway(sessionmaker, settings))
    now = datetime.now(UTC)
    first_no, second_no = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    shared, other = OrderLine(4, "课程甲", "6", 6000), OrderLine(5, "课程乙", "4", 4000)
    for no, lines in ((first_no, [shared]), (second_no, [shared, other])):
        order = OrderInput(no, trainee.id, 1, now.year, "in_post", lines, 1800, 3600)
        await acts.record_order(OrderRecord(order, now.isoformat(), (now + timedelta(minutes=30)).isoformat()))

    first = await acts.apply_payment(PaymentReceived(f"{first_no}-alipay", "T1", "alipay", 6000, now.isoformat()))
    second = await acts.apply_payment(PaymentReceived(f"{second_no}-wechat", "T2", "wechat", 10000, now.isoformat()))
    again = await acts.apply_payment(PaymentReceived(f"{second_no}-wechat", "T2", "wechat", 10000, now.isoformat()))

    assert first.duplicate_cents == 0 and len(first.enrollment_ids) == 1
    assert second.duplicate_cents == 6000 and len(second.enrollment_ids) == 1
    assert again.duplicate_cents == 6000 and again.enrollment_ids == second.enrollment_ids
    async with sessionmaker() as s:
        held = (await s.scalars(select(Enrollment.course_id).where(Enrollment.trainee_id == trainee.id))).all()
        assert sorted(held) == [4, 5]
        assert (await s.get(Order, second_no)).status == "paid"
