"""Side effects of the daily reconciliation (对账): the providers' bills, our books, the differences,
trades stuck waiting, and finance's resolutions (docs/PAYMENTS.md).

Every activity is idempotent: a difference is keyed by day, kind and number; a refund made by a
resolution has a refund number derived from the difference; settling hands the payment to the
order workflow, which drops a payment it already has.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from db.base import utcnow
from db.models.orders import Order, OrderStatus, Refund, RefundStatus
from db.models.reconciliation import (
    DifferenceStatus,
    ReconciliationDifference,
    ReconciliationRun,
    RunStatus,
)
from domain.errors import MESSAGES
from domain.orders import OrderView, PaymentReceived
from domain.reconciliation import (
    AppPayment,
    AppRefund,
    BillLine,
    BillRequest,
    DifferenceKind,
    FinishRun,
    Ledger,
    LedgerRequest,
    RecordRun,
    Resolution,
    ResolveRequest,
    StuckRequest,
    StuckTrade,
    beijing_day_bounds,
    refund_no_for,
)
from gateways.payment import BillGateway, PaymentGatewayError, TradeState


def refuse(code: str) -> ApplicationError:
    return ApplicationError(MESSAGES.get(code, code), type=code, non_retryable=True)


class ReconciliationActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], gateway: BillGateway) -> None:
        self.sessionmaker = sessionmaker
        self.gateway = gateway

    @activity.defn(name="reconcile.bill")
    async def bill(self, req: BillRequest) -> list[BillLine]:
        entries = await self.gateway.bill(channel=req.channel, day=req.day)
        return [
            BillLine(e.kind, e.channel, e.out_trade_no, e.trade_no, e.amount_cents, e.at, e.refund_no) for e in entries
        ]

    @activity.defn(name="reconcile.ledger")
    async def ledger(self, req: LedgerRequest) -> Ledger:
        start, end = beijing_day_bounds(req.day)
        async with self.sessionmaker() as session:
            paid = await session.execute(
                select(Order.order_no, Order.channel, Order.trade_no, Order.amount_cents).where(
                    Order.paid_at >= start, Order.paid_at < end, Order.trade_no.is_not(None)
                )
            )
            refunds = await session.execute(
                select(Refund.refund_no, Refund.order_no, Refund.trade_no, Refund.amount_cents).where(
                    Refund.status == RefundStatus.DONE, Refund.done_at >= start, Refund.done_at < end
                )
            )
            trades = set(req.trade_nos)
            known_trades: set[str] = set()
            if trades:
                known_trades |= set(await session.scalars(select(Order.trade_no).where(Order.trade_no.in_(trades))))
                known_trades |= set(await session.scalars(select(Refund.trade_no).where(Refund.trade_no.in_(trades))))
                known_trades |= set(
                    await session.scalars(
                        select(ReconciliationDifference.trade_no).where(
                            ReconciliationDifference.trade_no.in_(trades),
                            ReconciliationDifference.status == DifferenceStatus.RESOLVED,
                            ReconciliationDifference.kind == DifferenceKind.UNKNOWN_PAYMENT,
                        )
                    )
                )
            refund_nos = set(req.refund_nos)
            known_refunds: set[str] = set()
            if refund_nos:
                known_refunds |= set(
                    await session.scalars(select(Refund.refund_no).where(Refund.refund_no.in_(refund_nos)))
                )
                known_refunds |= set(
                    await session.scalars(
                        select(ReconciliationDifference.resolved_refund_no).where(
                            ReconciliationDifference.resolved_refund_no.in_(refund_nos)
                        )
                    )
                )
            amounts: dict[str, int] = {}
            if req.order_nos:
                found = await session.execute(
                    select(Order.order_no, Order.amount_cents).where(Order.order_no.in_(set(req.order_nos)))
                )
                amounts = {no: amount for no, amount in found.all()}
            payments = [AppPayment(no, ch or "", tn or "", amt) for no, ch, tn, amt in paid.all()]
            refunded = [AppRefund(rn, on, tn, amt) for rn, on, tn, amt in refunds.all()]
        return Ledger(
            payments=payments,
            refunds=refunded,
            known_trade_nos=sorted(t for t in known_trades if t),
            known_refund_nos=sorted(r for r in known_refunds if r),
            order_amounts=amounts,
        )

    @activity.defn(name="reconcile.record")
    async def record(self, req: RecordRun) -> list[str]:
        """Upserts the day's run and its differences; returns the keys of those still open (a rerun
        finds the same keys: nothing is recorded twice, a resolved difference stays resolved)."""
        async with self.sessionmaker() as session:
            run = await session.get(ReconciliationRun, req.day)
            if run is None:
                session.add(ReconciliationRun(day=req.day, workflow_id=req.workflow_id, started_at=utcnow()))
            else:
                run.runs = run.runs + 1 if run.status == RunStatus.DONE else run.runs
                run.status, run.started_at, run.finished_at = RunStatus.RUNNING, utcnow(), None
                run.workflow_id = req.workflow_id
            keys = [d.key for d in req.differences]
            existing = (
                set(
                    await session.scalars(
                        select(ReconciliationDifference.key).where(ReconciliationDifference.key.in_(keys))
                    )
                )
                if keys
                else set()
            )
            for d in req.differences:
                if d.key not in existing:
                    session.add(
                        ReconciliationDifference(
                            key=d.key,
                            day=d.day,
                            kind=d.kind,
                            channel=d.channel,
                            order_no=d.order_no,
                            trade_no=d.trade_no,
                            refund_no=d.refund_no,
                            provider_cents=d.provider_cents,
                            app_cents=d.app_cents,
                            status=DifferenceStatus.OPEN,
                            created_at=utcnow(),
                            provider_at=datetime.fromisoformat(d.at) if d.at else None,
                        )
                    )
            run_row = run or await session.get(ReconciliationRun, req.day)
            if run_row is not None:
                run_row.bill_lines = req.bill_lines
            try:
                await session.commit()
            except IntegrityError:  # a concurrent attempt recorded them: theirs stand
                await session.rollback()
            total = await session.scalar(
                select(func.count())
                .select_from(ReconciliationDifference)
                .where(ReconciliationDifference.day == req.day)
            )
            await session.execute(
                update(ReconciliationRun).where(ReconciliationRun.day == req.day).values(differences=total or 0)
            )
            await session.commit()
            open_keys = (
                await session.scalars(
                    select(ReconciliationDifference.key).where(
                        ReconciliationDifference.key.in_(keys), ReconciliationDifference.status == DifferenceStatus.OPEN
                    )
                )
            ).all() if keys else []  # fmt: skip
        return sorted(open_keys)

    @activity.defn(name="reconcile.link_task")
    async def link_task(self, key: str, task_id: int) -> None:
        async with self.sessionmaker() as session:
            await session.execute(
                update(ReconciliationDifference).where(ReconciliationDifference.key == key).values(task_id=task_id)
            )
            await session.commit()

    @activity.defn(name="reconcile.finish")
    async def finish(self, req: FinishRun) -> None:
        async with self.sessionmaker() as session:
            await session.execute(
                update(ReconciliationRun)
                .where(ReconciliationRun.day == req.day)
                .values(
                    status=RunStatus.DONE,
                    finished_at=utcnow(),
                    stuck_closed=req.stuck_closed,
                    stuck_settled=req.stuck_settled,
                )
            )
            await session.commit()

    @activity.defn(name="reconcile.stuck")
    async def stuck(self, req: StuckRequest) -> list[StuckTrade]:
        """Orders still waiting for payment well after their deadline: their process did not close
        them, so the provider is asked what became of the trade."""
        before = datetime.fromisoformat(req.now) - timedelta(minutes=req.older_than_minutes)
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(Order.order_no, Order.channel)
                .where(Order.status == OrderStatus.PENDING, Order.expires_at < before, Order.channel.is_not(None))
                .order_by(Order.expires_at)
                .limit(500)
            )
            return [StuckTrade(no, ch or "") for no, ch in rows.all()]

    @activity.defn(name="reconcile.check_stuck")
    async def check_stuck(self, trade: StuckTrade) -> str:
        """settled: paid at the provider, handed to the order; closed: closed at the provider (and the
        order closed, its process being gone); waiting: paid but the order would not take it."""
        out_trade = f"{trade.order_no}-{trade.channel}"
        found = await self.gateway.query(out_trade_no=out_trade)
        if found is not None and found.state in (TradeState.SUCCESS, TradeState.REFUND):
            payment = PaymentReceived(
                out_trade, found.trade_no, trade.channel, found.amount_cents, found.paid_at or utcnow().isoformat()
            )
            settled = await self._order_amount(trade.order_no) is not None and await self._hand_to_order(
                trade.order_no, payment
            )
            return "settled" if settled else "waiting"
        await self.gateway.close(out_trade_no=out_trade)
        async with self.sessionmaker() as session:
            await session.execute(
                update(Order)
                .where(Order.order_no == trade.order_no, Order.status == OrderStatus.PENDING)
                .values(status=OrderStatus.CLOSED, closed_at=utcnow())
            )
            await session.commit()
        return "closed"

    async def _order_amount(self, order_no: str) -> int | None:
        async with self.sessionmaker() as session:
            return await session.scalar(select(Order.amount_cents).where(Order.order_no == order_no))

    @staticmethod
    async def _hand_to_order(order_no: str, payment: PaymentReceived) -> bool:
        """As the lost notification would have: the order process takes the payment (or refunds it,
        if it closed meanwhile). False when the process is gone."""
        client = activity.client()
        try:
            await client.get_workflow_handle(f"order-{order_no}").execute_update(
                "payment_received", payment, result_type=OrderView
            )
        except (RPCError, WorkflowUpdateFailedError):
            return False
        return True

    @activity.defn(name="reconcile.resolve")
    async def resolve(self, req: ResolveRequest) -> str:
        """Carries out finance's resolution once, then marks the difference resolved."""
        async with self.sessionmaker() as session:
            diff = await session.get(ReconciliationDifference, req.key)
            if diff is None:
                raise refuse("NotFound")
            if diff.status == DifferenceStatus.RESOLVED:
                return diff.resolution or ""
            kind, trade_no, refund_no = diff.kind, diff.trade_no, diff.refund_no
            amount, order_no, channel = diff.provider_cents or diff.app_cents or 0, diff.order_no, diff.channel
            provider_at = diff.provider_at
        resolved_refund_no: str | None = None
        if req.action == Resolution.REFUND:
            # a refund missing at the provider is re-sent under its own number (refunds once);
            # anything else refunds what the provider took, under a number of this difference
            if kind == DifferenceKind.REFUND_MISSING_AT_PROVIDER:
                resolved_refund_no = refund_no
            else:
                resolved_refund_no = refund_no_for(req.key)
            if kind == DifferenceKind.AMOUNT_MISMATCH and diff.app_cents is not None and diff.provider_cents:
                amount = max(diff.provider_cents - diff.app_cents, 0) or diff.provider_cents
            try:
                await self.gateway.refund(trade_no=trade_no, refund_no=resolved_refund_no, amount_cents=amount)
            except PaymentGatewayError as exc:
                raise ApplicationError(f"退款失败：{exc}", type="ReconcileRefundFailed", non_retryable=True) from exc
        elif req.action == Resolution.SETTLE:
            if await self._order_amount(order_no) is None:
                raise refuse("ReconcileNoOrder")
            paid_at = (provider_at or utcnow()).isoformat()
            payment = PaymentReceived(f"{order_no}-{channel}", trade_no, channel, amount, paid_at)
            if not await self._hand_to_order(order_no, payment):
                raise refuse("ReconcileOrderGone")
        async with self.sessionmaker() as session:
            await session.execute(
                update(ReconciliationDifference)
                .where(
                    ReconciliationDifference.key == req.key, ReconciliationDifference.status == DifferenceStatus.OPEN
                )
                .values(
                    status=DifferenceStatus.RESOLVED,
                    resolution=req.action,
                    note=req.note,
                    resolved_refund_no=resolved_refund_no,
                    resolved_by=req.actor_id,
                    resolved_at=utcnow(),
                )
            )
            await session.commit()
        return req.action

    def all(self) -> list:
        return [
            self.bill,
            self.ledger,
            self.record,
            self.link_task,
            self.finish,
            self.stuck,
            self.check_stuck,
            self.resolve,
        ]
