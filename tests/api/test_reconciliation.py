"""对账 on the whole stack: the worker's reconciliation downloads both bills from the simulator over
the real adapters, finds a payment the platform never recorded, opens an inbox task; finance
resolves it from the task page; the /staff/reconciliation page shows the result and reruns a day
(as the browser calls it, with HX-Request) without opening a second task."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.models.paysim import SimTrade, SimTradeState
from db.models.reconciliation import ReconciliationDifference
from db.models.tasks import ReviewTask, TaskStatus
from db.models.users import Role
from domain.reconciliation import previous_beijing_day
from tests.support import csrf, eventually, htmx, login_trainee, make_staff, make_trainee, staff_client

pytestmark = pytest.mark.usefixtures("live_server")


async def _stranger_payment(maker: async_sessionmaker[AsyncSession], day: str, channel: str, amount: int) -> str:
    """A payment the provider took for an order the platform never heard of."""
    tag = uuid.uuid4().hex[:10]
    trade_no = f"4200{tag}" if channel == "wechat" else f"2025{tag}"
    paid_at = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=3)
    async with maker() as session:
        session.add(
            SimTrade(
                out_trade_no=f"Z{tag}-{channel}",
                trade_no=trade_no,
                channel=channel,
                amount_cents=amount,
                subject="继续教育课程费",
                state=SimTradeState.SUCCESS,
                expires_at=paid_at,
                created_at=paid_at,
                paid_at=paid_at,
                refunded_cents=0,
            )  # fmt: skip
        )
        await session.commit()
    return trade_no


async def _tasks_of(maker: async_sessionmaker[AsyncSession], day: str) -> list[ReviewTask]:
    async with maker() as session:
        return list(
            (await session.scalars(select(ReviewTask).where(ReviewTask.task_key.like(f"reconcile:{day}:%")))).all()
        )


async def test_a_payment_without_an_order_becomes_a_task_finance_resolves(app, sessionmaker) -> None:
    day = previous_beijing_day(utcnow() - timedelta(days=40))
    trade_no = await _stranger_payment(sessionmaker, day, "wechat", 6600)
    finance = await make_staff(sessionmaker, Role.FINANCE)
    async with staff_client(app, finance) as c:
        page = await c.get(f"/staff/reconciliation?day={day}")
        assert page.status_code == 200 and "该日尚未对账" in page.text

        resp = await c.post("/staff/reconciliation/rerun", data={"day": day}, headers=htmx(c))
        assert resp.status_code == 200, resp.text[:2000]
        assert resp.text.lstrip().startswith('<div id="results">')  # the fragment htmx swaps
        assert "已重新对账" in resp.text and "渠道收款无对应订单" in resp.text and "¥66.00" in resp.text

        [task] = await eventually(lambda: _tasks_of(sessionmaker, day))
        detail = await c.get(f"/staff/tasks/{task.id}")
        assert "对账差异" in detail.text and trade_no in detail.text
        await c.post(f"/staff/tasks/{task.id}/claim", headers=htmx(c))
        detail = await c.get(f"/staff/tasks/{task.id}")
        assert 'id="resolve-refund"' in detail.text and 'id="resolve-settle"' in detail.text
        assert 'id="approve-btn"' not in detail.text  # the resolutions replace 通过/驳回

        missing_note = await c.post(
            f"/staff/tasks/{task.id}/decide", data={"decision": "approve", "reason": "", "item-explain": "approve"},
            headers=htmx(c),
        )  # fmt: skip
        assert "请填写处理说明" in missing_note.text
        done = await c.post(
            f"/staff/tasks/{task.id}/decide",
            data={"decision": "approve", "reason": "渠道测试交易", "item-explain": "approve"},
            headers=htmx(c),
        )
        assert done.status_code == 200 and "标记为已说明：渠道测试交易" in done.text

        again = await c.post("/staff/reconciliation/rerun", data={"day": day}, headers=htmx(c))
        assert "已处理" in again.text and "标记为已说明：渠道测试交易" in again.text
    tasks = await _tasks_of(sessionmaker, day)
    assert len(tasks) == 1 and tasks[0].status == TaskStatus.DECIDED  # the rerun opened no second task
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(ReconciliationDifference).where(ReconciliationDifference.day == day)
        )
    assert count == 1


async def test_a_day_in_the_future_or_malformed_is_refused(app, sessionmaker) -> None:
    finance = await make_staff(sessionmaker, Role.FINANCE)
    async with staff_client(app, finance) as c:
        for day in ("2099-01-01", "2025-13-40", "yesterday"):
            resp = await c.post("/staff/reconciliation/rerun", data={"day": day}, headers=htmx(c))
            assert resp.status_code == 422 and "对账日期无效" in resp.text
        long = await c.post("/staff/reconciliation/rerun", data={"day": "2" * 11}, headers=htmx(c))
        assert long.status_code in (400, 422) and "对账日期不能超过10个字符" in long.text


async def test_only_finance_and_admin_reach_the_page(client: httpx.AsyncClient, sessionmaker) -> None:
    trainee = await make_trainee(sessionmaker)
    await login_trainee(client, trainee)
    resp = await client.get("/staff/reconciliation")
    assert resp.status_code in (302, 303, 403)
    refused = await client.post("/staff/reconciliation/rerun", data={"day": "2025-07-02"}, headers=csrf(client))
    assert refused.status_code in (302, 303, 403)
