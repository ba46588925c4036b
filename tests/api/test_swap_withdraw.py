"""换课 / 退课 through HTTP, on courses bought through the real cashier: the swap page and its
refusals, withdraw pressed twice (one refund, at the provider too), a refund whose worker dies
midway (still once), and the refusals for a studied course."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Worker

from activities.orders import OrderActivities
from db.models.catalog import Chapter, Course
from db.models.orders import Enrollment, Order, Refund
from db.models.paysim import SimRefund, SimTrade
from domain.orders import RefundDone, RefundRequest
from gateways.payment import RefundReceipt
from gateways.simulator import SimulatorGateway
from tests.support import csrf, enter_school, eventually, htmx, login_trainee, make_trainee
from tests.support.study import YEAR, buy, course_id_by_code, enroll, ensure_test_clip, make_test_course
from workflows.refund import RefundWorkflow

pytestmark = pytest.mark.usefixtures("live_server")


@pytest.fixture
async def trainee_client(client: httpx.AsyncClient, sessionmaker, settings):
    ensure_test_clip(settings)
    user = await make_trainee(sessionmaker, "换退学员")
    await login_trainee(client, user)
    await enter_school(client)
    client.user = user  # type: ignore[attr-defined]
    return client


async def title_of(maker, code: str) -> str:
    async with maker() as s:
        course = await s.get(Course, await course_id_by_code(maker, code))
        assert course is not None
        return course.title


async def test_swap_page_lists_same_major_and_hours_and_swaps(trainee_client, sessionmaker) -> None:
    client = trainee_client
    agr1, agr2 = await buy(client, sessionmaker, "AGR-01", "AGR-02")  # 农学 8 学时 both

    page = await client.get(f"/my/courses/{agr1}/swap")
    assert page.status_code == 200
    assert await title_of(sessionmaker, "AGR-03") in page.text  # 农学, 8 学时
    assert await title_of(sessionmaker, "AGR-04") not in page.text  # 6 学时
    assert await title_of(sessionmaker, "IT-01") not in page.text  # 信息技术
    assert "已拥有" in page.text  # AGR-02 is already held
    assert "是否要更换" in page.text  # the confirmation dialog

    async def swap_to(code: str) -> httpx.Response:
        cid = await course_id_by_code(sessionmaker, code)
        return await client.post(f"/my/courses/{agr1}/swap", data={"course_id": str(cid)}, headers=htmx(client))

    for code, message in (("AGR-04", "只能更换同专业下相同学时的课程"), ("AGR-02", "已购买过此课程")):
        refused = await swap_to(code)
        assert refused.status_code == 422 and message in refused.text

    done = await swap_to("AGR-03")
    assert done.headers.get("HX-Redirect") == "/my/courses?notice=swapped"
    mine = await client.get("/my/courses?notice=swapped")
    assert "换课成功" in mine.text
    assert await title_of(sessionmaker, "AGR-03") in mine.text
    assert await title_of(sessionmaker, "AGR-01") not in mine.text
    async with sessionmaker() as s:
        e1, e2 = await s.get(Enrollment, agr1), await s.get(Enrollment, agr2)
        assert e1 is not None and e2 is not None
        assert e1.order_no == e2.order_no and e1.price_cents == 8000  # same order and payment
        assert e1.swapped_from_course_id == await course_id_by_code(sessionmaker, "AGR-01")
    # the order keeps what was bought, and says what it became
    detail = await client.get(f"/orders/{e1.order_no}")
    assert await title_of(sessionmaker, "AGR-01") in detail.text
    assert f"已换课为《{await title_of(sessionmaker, 'AGR-03')}》" in detail.text


async def test_swap_to_another_major_of_the_same_hours_is_refused(trainee_client, sessionmaker) -> None:
    client = trainee_client
    [pub2] = await buy(client, sessionmaker, "PUB-02")  # 农学 4 学时
    it1 = await course_id_by_code(sessionmaker, "IT-01")  # 信息技术 4 学时
    refused = await client.post(f"/my/courses/{pub2}/swap", data={"course_id": str(it1)}, headers=htmx(client))
    assert refused.status_code == 422 and "只能更换同专业下相同学时的课程" in refused.text


async def test_withdraw_pressed_twice_refunds_once_and_the_course_can_be_bought_again(
    trainee_client, sessionmaker
) -> None:
    client = trainee_client
    [eid] = await buy(client, sessionmaker, "PUB-03")
    mine = await client.get("/my/courses")
    assert "是否确定要退课" in mine.text

    first, second = await asyncio.gather(
        client.post(f"/my/courses/{eid}/withdraw", headers=htmx(client)),
        client.post(f"/my/courses/{eid}/withdraw", headers=htmx(client)),
    )
    for resp in (first, second):
        assert resp.headers.get("HX-Redirect") == "/my/courses?notice=withdrawn", resp.text
    mine = await client.get("/my/courses?notice=withdrawn")
    assert "退课成功" in mine.text
    assert await title_of(sessionmaker, "PUB-03") not in mine.text.split("退课成功", 1)[1]

    async with sessionmaker() as s:
        enrollment = await s.get(Enrollment, eid)
        assert enrollment is not None
        order_no = enrollment.order_no

    async def refunded() -> bool:
        async with sessionmaker() as s:
            refund = await s.get(Refund, f"W-{eid}")
            return refund is not None and refund.status == "done"

    await eventually(refunded)
    detail = await client.get(f"/orders/{order_no}")
    assert "退课退款" in detail.text and "已退款" in detail.text and "¥40.00" in detail.text
    assert "<td>已退课</td>" in detail.text  # the line says what became of it
    async with sessionmaker() as s:
        order = await s.get(Order, order_no)
        assert order is not None
        refunds = await s.scalar(select(func.count()).select_from(Refund).where(Refund.enrollment_id == eid))
        provider = await s.scalar(
            select(func.count()).select_from(SimRefund).where(SimRefund.trade_no == order.trade_no)
        )
        trade = await s.scalar(select(SimTrade).where(SimTrade.trade_no == order.trade_no))
        assert refunds == 1 and provider == 1 and trade is not None and trade.refunded_cents == 4000

    # a third press after the study workflow has closed changes nothing either
    again = await client.post(f"/my/courses/{eid}/withdraw", headers=htmx(client))
    assert again.headers.get("HX-Redirect") == "/my/courses?notice=withdrawn"
    # the live-holding index lets the course be bought again
    pub3 = await course_id_by_code(sessionmaker, "PUB-03")
    rebuy = await client.post(
        "/orders",
        headers=htmx(client),
        data={"course_ids": [str(pub3)], "training_year": str(YEAR), "training_type": "in_post"},
    )
    assert rebuy.status_code == 204, rebuy.text


async def test_studied_course_cannot_be_swapped_or_withdrawn(trainee_client, sessionmaker) -> None:
    client = trainee_client
    course_id = await make_test_course(sessionmaker, durations=(30,))
    twin = await course_id_by_code(sessionmaker, "DEMO-01")  # same school, major (农学) and hours (1)
    eid = await enroll(sessionmaker, client.user.id, course_id)
    async with sessionmaker() as s:
        chapter = await s.scalar(select(Chapter.id).where(Chapter.course_id == course_id))
    opened = await client.post(f"/study/{eid}/chapters/{chapter}/open", json={}, headers=csrf(client))
    assert opened.status_code == 200
    mine = await client.get("/my/courses")
    row = mine.text.split(f'data-enrollment-id="{eid}"', 1)[1].split("</tr>", 1)[0]
    assert "学习中" in row and "退课" not in row and "换课" not in row  # no buttons for a studied course
    swap = await client.post(f"/my/courses/{eid}/swap", data={"course_id": str(twin)}, headers=htmx(client))
    assert swap.status_code == 422 and "只有未学习的课程才可以进行换课" in swap.text
    withdraw = await client.post(f"/my/courses/{eid}/withdraw", headers=htmx(client))
    assert withdraw.status_code == 422 and "只有未学习的课程才可以进行退课" in withdraw.text
    assert (await client.get(f"/my/courses/{eid}/swap")).status_code == 422


@dataclass
class DiesAfterRefund:
    """The provider refunds, then the worker 'dies' before recording it (first call only)."""

    inner: SimulatorGateway
    died: bool = False

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    async def refund(self, *, trade_no: str, refund_no: str, amount_cents: int) -> RefundReceipt:
        receipt = await self.inner.refund(trade_no=trade_no, refund_no=refund_no, amount_cents=amount_cents)
        if not self.died:
            self.died = True
            raise RuntimeError("worker died after the provider refunded")
        return receipt


async def test_refund_after_a_worker_dies_midway_is_still_once(
    trainee_client, sessionmaker, settings, temporal_client: Client
) -> None:
    client = trainee_client
    [eid] = await buy(client, sessionmaker, "PUB-04")
    async with sessionmaker() as s:
        enrollment = await s.get(Enrollment, eid)
        assert enrollment is not None
        order = await s.get(Order, enrollment.order_no)
        assert order is not None and order.trade_no
    gateway = DiesAfterRefund(SimulatorGateway(sessionmaker, settings))
    queue = f"refund-crash-{uuid.uuid4().hex[:6]}"
    activities = OrderActivities(sessionmaker, gateway)
    async with Worker(temporal_client, task_queue=queue, workflows=[RefundWorkflow], activities=[activities.refund]):
        req = RefundRequest(f"W-{eid}", order.order_no, order.trade_no, enrollment.price_cents, "withdraw", eid)
        done: RefundDone = await temporal_client.execute_workflow(
            RefundWorkflow.run, req, id=f"refund-crash-{eid}", task_queue=queue
        )
    assert gateway.died and done.amount_cents == 3000
    async with sessionmaker() as s:
        refund = await s.get(Refund, f"W-{eid}")
        trade = await s.scalar(select(SimTrade).where(SimTrade.trade_no == order.trade_no))
        provider = await s.scalar(
            select(func.count()).select_from(SimRefund).where(SimRefund.trade_no == order.trade_no)
        )
        assert refund is not None and refund.status == "done"
        assert trade is not None and trade.refunded_cents == 3000 and provider == 1
