"""An order whose lines are withdrawn says so: 部分退款 after the first 退课, 已退款 after the last,
on its page, in 我的订单 and in its ProcessStatus; its refunds carry a 退款单号 (TK + Beijing date +
sequence), not an internal id."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from activities.orders import record_refund
from db.models.orders import Enrollment, Order, Refund
from domain.beijing_time import beijing_today
from domain.orders import RefundRequest
from tests.support import enter_school, eventually, htmx, login_trainee, make_trainee
from tests.support.study import buy, ensure_test_clip
from workflows.common import PROCESS_STATUS
from workflows.order import order_workflow_id

pytestmark = pytest.mark.usefixtures("live_server")
NUMBER = re.compile(r"TK\d{8}\d{4,}")


@pytest.fixture
async def trainee_client(client: httpx.AsyncClient, sessionmaker, settings):
    ensure_test_clip(settings)
    user = await make_trainee(sessionmaker, "退款学员")
    await login_trainee(client, user)
    await enter_school(client)
    client.user = user  # type: ignore[attr-defined]
    return client


async def order_of(maker, enrollment_id: int) -> Order:
    async with maker() as s:
        enrollment = await s.get(Enrollment, enrollment_id)
        assert enrollment is not None
        order = await s.get(Order, enrollment.order_no)
        assert order is not None
        return order


async def withdraw_and_wait(client: httpx.AsyncClient, maker, eid: int, state: str) -> str:
    resp = await client.post(f"/my/courses/{eid}/withdraw", headers=htmx(client))
    assert resp.headers.get("HX-Redirect") == "/my/courses?notice=withdrawn", resp.text

    async def settled() -> Order | None:
        order = await order_of(maker, eid)
        return order if order.status == state else None

    return (await eventually(settled)).order_no


async def process_status(client: Client, order_no: str) -> str | None:
    desc = await client.get_workflow_handle(order_workflow_id(order_no)).describe()
    return desc.typed_search_attributes.get(PROCESS_STATUS)


def my_orders_state(page: str, order_no: str) -> str:
    found = re.search(rf'data-order-no="{order_no}">([^<]+)<', page)
    assert found, page
    return found.group(1)


async def test_withdrawn_lines_make_the_order_partly_then_fully_refunded(
    trainee_client, sessionmaker, temporal_client: Client
) -> None:
    client = trainee_client
    first, second = await buy(client, sessionmaker, "PUB-02", "PUB-03")
    order_no = (await order_of(sessionmaker, first)).order_no
    assert my_orders_state((await client.get("/my/orders")).text, order_no) == "已支付"

    await withdraw_and_wait(client, sessionmaker, first, "part_refund")
    notice = await client.get("/my/courses?notice=withdrawn")
    assert "退课成功" in notice.text and NUMBER.search(notice.text), "the notice names the 退款单号"
    detail = await client.get(f"/orders/{order_no}")
    status = re.search(r'id="order-status">([^<]+)<', detail.text)
    assert status and status.group(1) == "部分退款"
    assert my_orders_state((await client.get("/my/orders")).text, order_no) == "部分退款"
    await eventually(lambda: _status_is(temporal_client, order_no, "part_refund"))

    await withdraw_and_wait(client, sessionmaker, second, "refunded")
    detail = await client.get(f"/orders/{order_no}")
    status = re.search(r'id="order-status">([^<]+)<', detail.text)
    assert status and status.group(1) == "已退款"
    orders = (await client.get("/my/orders")).text
    assert my_orders_state(orders, order_no) == "已退款"
    await eventually(lambda: _status_is(temporal_client, order_no, "refunded"))

    # the refunds read as 退款单号 TK…, never the internal W-<id>
    numbers = re.findall(r'<td class="refund-no">([^<]+)</td>', detail.text)
    assert len(numbers) == 2 and all(NUMBER.fullmatch(n) for n in numbers), numbers
    assert len(set(numbers)) == 2 and "W-" not in detail.text
    today = beijing_today(datetime.now(UTC))
    assert all(n.startswith(f"TK{today:%Y%m%d}") for n in numbers)


async def _status_is(client: Client, order_no: str, state: str) -> bool:
    return await process_status(client, order_no) == state


async def test_a_refund_number_is_drawn_once_and_unique(trainee_client, sessionmaker) -> None:
    client = trainee_client
    [eid] = await buy(client, sessionmaker, "PUB-04")
    order = await order_of(sessionmaker, eid)
    requests = [
        RefundRequest(f"X-{order.order_no}-{n}", order.order_no, order.trade_no or "", 100, "late_payment")
        for n in range(4)
    ]
    # retried and raced: one row per refund, each with its own number, kept on retry
    await asyncio.gather(*(record_refund(sessionmaker, r) for r in requests + requests))
    async with sessionmaker() as s:
        rows = (await s.scalars(select(Refund).where(Refund.order_no == order.order_no))).all()
    numbers = {r.refund_no: r.refund_number for r in rows}
    assert len(numbers) == 4 and len(set(numbers.values())) == 4
    assert all(n and NUMBER.fullmatch(n) for n in numbers.values())
    await record_refund(sessionmaker, requests[0])
    async with sessionmaker() as s:
        again = await s.get(Refund, requests[0].refund_no)
    assert again is not None and again.refund_number == numbers[requests[0].refund_no]
