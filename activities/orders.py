"""Side effects of the order process: the order projection, enrollments, the payment provider."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.invoices import reverse_for_refund
from db.base import utcnow
from db.models.catalog import Chapter
from db.models.checkout import OpenOrderLine
from db.models.orders import (
    CartItem,
    Enrollment,
    EnrollmentStatus,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundStatus,
)
from db.notices import add_notice
from domain.beijing_time import beijing_today
from domain.notices import order_closed, payment_confirmed, refund_done
from domain.orders import (
    OrderRecord,
    PaymentApplied,
    PaymentReceived,
    RefundDone,
    RefundRequest,
    TradeOpened,
    TradeRequest,
    make_refund_number,
    refund_number_prefix,
    refund_number_seq,
    refund_state,
)
from gateways.payment import TradeGateway, order_no_of

REFUND_NUMBER_ATTEMPTS = 5


class OrderActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], gateway: TradeGateway) -> None:
        self.sessionmaker = sessionmaker
        self.gateway = gateway

    @activity.defn(name="orders.record_order")
    async def record_order(self, record: OrderRecord) -> None:
        order = record.input
        async with self.sessionmaker() as session:
            session.add(
                Order(
                    order_no=order.order_no,
                    trainee_id=order.trainee_id,
                    school_id=order.school_id,
                    training_year=order.training_year,
                    training_type=order.training_type,
                    amount_cents=order.amount_cents,
                    status=OrderStatus.PENDING,
                    created_at=datetime.fromisoformat(record.created_at),
                    expires_at=datetime.fromisoformat(record.expires_at),
                )
            )
            session.add_all(
                OrderItem(
                    order_no=order.order_no,
                    course_id=line.course_id,
                    title=line.title,
                    hours=Decimal(line.hours),
                    price_cents=line.price_cents,
                )
                for line in order.lines
            )
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                if await session.get(Order, order.order_no) is None:
                    raise
                # a retried activity: already on record

    @activity.defn(name="orders.open_trade")
    async def open_trade(self, req: TradeRequest) -> TradeOpened:
        trade = await self.gateway.precreate(
            order_no=req.order_no,
            channel=req.channel,
            amount_cents=req.amount_cents,
            subject=req.subject,
            expires_at=req.expires_at,
        )
        async with self.sessionmaker() as session:
            await session.execute(update(Order).where(Order.order_no == req.order_no).values(channel=req.channel))
            await session.commit()
        return TradeOpened(out_trade_no=trade.out_trade_no, trade_no=trade.trade_no, qr_url=trade.qr_url)

    @activity.defn(name="orders.close_trade")
    async def close_trade(self, out_trade_no: str) -> None:
        await self.gateway.close(out_trade_no=out_trade_no)

    @activity.defn(name="orders.close_order")
    async def close_order(self, order_no: str, status: str) -> None:
        async with self.sessionmaker() as session:
            closed = await session.execute(
                update(Order)
                .where(Order.order_no == order_no, Order.status == OrderStatus.PENDING)
                .values(status=status, closed_at=utcnow())
            )
            if closed.rowcount and status == OrderStatus.CLOSED:  # type: ignore[attr-defined]
                # closed unpaid by the timer (a trainee who cancelled knows it already)
                trainee_id = await session.scalar(select(Order.trainee_id).where(Order.order_no == order_no))
                if trainee_id is not None:
                    await add_notice(session, order_closed(trainee_id, order_no))
            # the trainee may check the courses out again
            await session.execute(delete(OpenOrderLine).where(OpenOrderLine.order_no == order_no))
            await session.commit()

    @activity.defn(name="orders.apply_payment")
    async def apply_payment(self, paid: PaymentReceived) -> PaymentApplied:
        """Creates one enrollment per line, then marks the order paid, once, however often it runs.
        Paid comes last: a page that sees the order paid finds the courses in 我的课程.

        A line whose course the trainee already holds for that year (bought twice in parallel) gets
        no enrollment; its price is returned for a refund."""
        order_no = order_no_of(paid.out_trade_no)
        result = PaymentApplied()
        async with self.sessionmaker() as session:
            order = await session.get(Order, order_no)
            assert order is not None, order_no
            # each line with its enrollment, if a retried run made it, and its course's total duration
            total = (
                select(func.coalesce(func.sum(Chapter.duration_seconds), 0))
                .where(Chapter.course_id == OrderItem.course_id)
                .scalar_subquery()
            )
            lines = (
                await session.execute(
                    select(OrderItem, Enrollment.id, total)
                    .outerjoin(Enrollment, Enrollment.order_item_id == OrderItem.id)
                    .where(OrderItem.order_no == order_no)
                )
            ).all()
            # plain values: a refused enrollment's rollback expires every loaded row
            trainee_id, course_ids = order.trainee_id, [item.course_id for item, _, _ in lines]
            amount_cents = order.amount_cents
            todo = [
                (item.id, item.price_cents, existing, _enrollment(order, item, int(seconds)))
                for item, existing, seconds in lines
            ]
            for item_id, price_cents, existing, enrollment in todo:
                enrollment_id = existing or await self._enroll(session, enrollment)
                if enrollment_id is None:
                    result.duplicate_item_ids.append(item_id)
                    result.duplicate_cents += price_cents
                else:
                    result.enrollment_ids.append(enrollment_id)
            await session.execute(
                update(Order)
                .where(Order.order_no == order_no, Order.status.not_in(OrderStatus.SETTLED))
                .values(
                    status=OrderStatus.PAID,
                    channel=paid.channel,
                    trade_no=paid.trade_no,
                    paid_at=datetime.fromisoformat(paid.paid_at),
                )
                .execution_options(synchronize_session=False)
            )
            await session.execute(
                delete(CartItem).where(CartItem.trainee_id == trainee_id, CartItem.course_id.in_(course_ids))
            )
            # the enrollments hold the courses now (uq_enrollments_live_holding)
            await session.execute(delete(OpenOrderLine).where(OpenOrderLine.order_no == order_no))
            await add_notice(session, payment_confirmed(trainee_id, order_no, amount_cents))
            await session.commit()
        return result

    @staticmethod
    async def _enroll(session: AsyncSession, enrollment: Enrollment) -> int | None:
        session.add(enrollment)
        try:
            await session.commit()
        except IntegrityError:
            # the live-holding index refused it: the course is already held for that year
            await session.rollback()
            return None
        return enrollment.id

    @activity.defn(name="orders.refund")
    async def refund(self, req: RefundRequest) -> RefundDone:
        """Records the refund, then asks the provider; the refund number makes a retry harmless.
        Once done, the order's state follows what was refunded of its payment (部分退款 / 已退款)."""
        await record_refund(self.sessionmaker, req)
        receipt = await self.gateway.refund(
            trade_no=req.trade_no, refund_no=req.refund_no, amount_cents=req.amount_cents
        )
        async with self.sessionmaker() as session:
            await session.execute(
                update(Refund)
                .where(Refund.refund_no == req.refund_no)
                .values(status=RefundStatus.DONE, done_at=datetime.fromisoformat(receipt.refunded_at))
            )
            trainee_id = await session.scalar(select(Order.trainee_id).where(Order.order_no == req.order_no))
            if trainee_id is not None:
                await add_notice(
                    session, refund_done(trainee_id, req.order_no, req.refund_no, receipt.amount_cents)
                )
            await session.commit()
            paid_trade_no = await session.scalar(select(Order.trade_no).where(Order.order_no == req.order_no))
        if req.trade_no == paid_trade_no:
            # 红冲 with the refund: a refund of the accepted payment reverses the order's invoice, if it
            # had one (keyed by refund_no, so a retry records it once; a late or duplicate trade's
            # refund was never invoiced).
            await reverse_for_refund(self.sessionmaker, req.order_no, req.refund_no, req.amount_cents)
        return RefundDone(
            refund_no=req.refund_no,
            amount_cents=receipt.amount_cents,
            refunded_at=receipt.refunded_at,
            order_state=await self._settle_order_state(req.order_no),
        )

    async def _settle_order_state(self, order_no: str) -> str | None:
        """部分退款 / 已退款 from the done refunds of the order's accepted payment (late or duplicate
        trades refunded in full do not count); None for an order that was never paid."""
        async with self.sessionmaker() as session:
            order = await session.get(Order, order_no)
            if order is None or order.status not in OrderStatus.SETTLED or order.trade_no is None:
                return None
            refunded = await session.scalar(
                select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
                    Refund.order_no == order_no,
                    Refund.trade_no == order.trade_no,
                    Refund.status == RefundStatus.DONE,
                )
            )
            state = refund_state(order.amount_cents, int(refunded or 0))
            await session.execute(
                update(Order)
                .where(Order.order_no == order_no, Order.status.in_(OrderStatus.SETTLED))
                .values(status=state)
            )
            await session.commit()
            return state

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.record_order,
            self.open_trade,
            self.close_trade,
            self.close_order,
            self.apply_payment,
            self.refund,
        ]


def _enrollment(order: Order, item: OrderItem, total_seconds: int) -> Enrollment:
    return Enrollment(
        order_item_id=item.id,
        order_no=order.order_no,
        trainee_id=order.trainee_id,
        course_id=item.course_id,
        school_id=order.school_id,
        training_year=order.training_year,
        training_type=order.training_type,
        price_cents=item.price_cents,
        status=EnrollmentStatus.NOT_STARTED,
        total_seconds=total_seconds,
    )


async def record_refund(sessionmaker: async_sessionmaker[AsyncSession], req: RefundRequest) -> None:
    """The refund's row with its 退款单号, drawn once: a retry (or the refund activity after 退课
    recorded it) finds the row and keeps its number; two refunds drawing the same number in
    parallel draw again."""
    for _ in range(REFUND_NUMBER_ATTEMPTS):
        async with sessionmaker() as session:
            if await session.get(Refund, req.refund_no) is not None:
                return
            day = beijing_today(utcnow())
            last = await session.scalar(
                select(func.max(Refund.refund_number)).where(
                    Refund.refund_number.like(f"{refund_number_prefix(day)}%")
                )
            )
            session.add(
                Refund(
                    refund_no=req.refund_no,
                    refund_number=make_refund_number(day, refund_number_seq(last or "", day) + 1),
                    order_no=req.order_no,
                    enrollment_id=req.enrollment_id,
                    trade_no=req.trade_no,
                    amount_cents=req.amount_cents,
                    reason=req.reason,
                    status=RefundStatus.PENDING,
                )
            )
            try:
                await session.commit()
                return
            except IntegrityError:
                await session.rollback()  # the same refund recorded by a parallel run, or the number taken
    raise RuntimeError(f"no refund number for {req.refund_no} after {REFUND_NUMBER_ATTEMPTS} attempts")
