"""课程购买 through HTTP: checkout refusals, the cashier, payment through the simulator, 我的课程."""

from __future__ import annotations

import asyncio
import re
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models.catalog import Course
from db.models.orders import Enrollment, Order
from domain.errors import MESSAGES
from tests.support import enter_school, eventually, htmx, login_trainee, make_trainee

pytestmark = pytest.mark.usefixtures("live_server")
YEAR = date.today().year


async def course_ids(maker: async_sessionmaker[AsyncSession], *codes: str, school_id: int = 1) -> list[int]:
    async with maker() as s:
        rows = (await s.scalars(select(Course).where(Course.code.in_(codes), Course.school_id == school_id))).all()
        by_code = {c.code: c.id for c in rows}
        return [by_code[c] for c in codes]


async def checkout(
    client: httpx.AsyncClient, ids: list[int], year: int = YEAR, ttype: str = "in_post"
) -> httpx.Response:
    data = {"course_ids": [str(i) for i in ids], "training_year": str(year), "training_type": ttype}
    return await client.post("/orders", data=data, headers=htmx(client))


async def pay(client: httpx.AsyncClient, order_no: str, settings, maker, channel: str = "alipay") -> None:
    page = await client.post(f"/cashier/{order_no}/next", data={"channel": channel}, headers=htmx(client))
    assert page.status_code == 200, page.text
    trade_no = re.search(r"/paysim/scan/(\w+)", page.text)
    assert trade_no, page.text
    phone = await client.post(f"/paysim/scan/{trade_no.group(1)}/pay", headers=htmx(client))
    assert "支付成功" in phone.text


@pytest.fixture
async def trainee_client(client: httpx.AsyncClient, sessionmaker):
    user = await make_trainee(sessionmaker)
    await login_trainee(client, user)
    await enter_school(client)
    client.user = user  # type: ignore[attr-defined]
    return client


async def test_two_courses_bought_and_paid_show_in_my_courses(trainee_client, sessionmaker, settings) -> None:
    client = trainee_client
    ids = await course_ids(sessionmaker, "PUB-02", "AGR-01")
    for cid in ids:
        added = await client.post("/cart/items", data={"course_id": str(cid)}, headers=htmx(client))
        assert "去购物车" in added.text
    cart = await client.get("/cart")
    assert "事业单位工作人员职业道德与行为规范" in cart.text and "现代农业种植技术" in cart.text

    resp = await checkout(client, ids)
    assert resp.status_code == 204, resp.text
    pay_url = resp.headers["HX-Redirect"]
    order_no = pay_url.split("/")[2]
    page = await client.get(pay_url)
    assert "¥120.00" in page.text

    waiting = await client.get(f"/orders/{order_no}/status", params={"wait": 0.2}, headers=htmx(client))
    assert waiting.status_code == 200 and "等待支付结果" in waiting.text  # not paid yet: answered after the wait

    # the QR page's status request is held until the payment is in, then sends the browser on
    status = asyncio.create_task(client.get(f"/orders/{order_no}/status", params={"wait": 15}, headers=htmx(client)))
    await pay(client, order_no, settings, sessionmaker)
    assert (await status).headers.get("HX-Redirect") == "/my/courses"
    mine = await client.get("/my/courses")
    assert "事业单位工作人员职业道德与行为规范" in mine.text and "现代农业种植技术" in mine.text
    cart = await client.get("/cart")
    assert "购物车还是空的" in cart.text  # bought courses leave the cart
    notices = await client.get("/my/notices")  # 消息中心: the payment activity told the trainee
    assert "支付成功" in notices.text and f"订单 {order_no} 已支付 ¥120.00" in notices.text


async def test_checkout_refusals(trainee_client, sessionmaker) -> None:
    client = trainee_client
    [cid] = await course_ids(sessionmaker, "PUB-03")
    cases = [
        ([], YEAR, "in_post", "请至少选择一门课程"),
        ([999999], YEAR, "in_post", "课程不存在或已下架"),
        ([cid], YEAR - 3, "in_post", "该培训年份暂不开放"),
        ([cid], YEAR, "holiday", "请选择培训类型"),
    ]
    for ids, year, ttype, message in cases:
        resp = await checkout(client, ids, year, ttype)
        assert resp.status_code == 422, (ids, resp.text)
        assert message in resp.text
    async with sessionmaker() as s:
        count = await s.scalar(select(func.count()).select_from(Order).where(Order.trainee_id == client.user.id))
    assert count == 0  # nothing half-written


async def test_course_already_held_for_the_year_is_refused(trainee_client, sessionmaker, settings) -> None:
    client = trainee_client
    [cid] = await course_ids(sessionmaker, "PUB-04")
    resp = await checkout(client, [cid])
    order_no = resp.headers["HX-Redirect"].split("/")[2]
    await pay(client, order_no, settings, sessionmaker)

    async def enrolled() -> int:
        async with sessionmaker() as s:
            return (
                await s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.order_no == order_no)) or 0
            )

    await eventually(enrolled)
    again = await checkout(client, [cid])
    assert again.status_code == 422 and "已购买过此课程" in again.text
    other_year = await checkout(client, [cid], YEAR - 1)
    assert other_year.status_code == 204  # another training year is a separate holding


async def test_another_trainees_order_is_not_found(trainee_client, sessionmaker, app) -> None:
    client = trainee_client
    [cid] = await course_ids(sessionmaker, "PUB-05")
    resp = await checkout(client, [cid])
    order_no = resp.headers["HX-Redirect"].split("/")[2]

    other = await make_trainee(sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as intruder:
        await login_trainee(intruder, other)
        for url in (f"/orders/{order_no}", f"/orders/{order_no}/pay", f"/cashier/{order_no}"):
            assert (await intruder.get(url)).status_code == 404
        cancel = await intruder.post(f"/orders/{order_no}/cancel", headers=htmx(intruder))
        assert cancel.status_code == 404
        # the QR page's held status request is refused before any waiting
        status = await intruder.get(f"/orders/{order_no}/status", params={"wait": 15}, headers=htmx(intruder))
        assert status.status_code == 404 and MESSAGES["OrderNotFound"] in status.text


async def test_cancel_unpaid_order(trainee_client, sessionmaker) -> None:
    client = trainee_client
    [cid] = await course_ids(sessionmaker, "IT-01")
    resp = await checkout(client, [cid])
    order_no = resp.headers["HX-Redirect"].split("/")[2]
    cancelled = await client.post(f"/orders/{order_no}/cancel", headers=htmx(client))
    assert cancelled.headers.get("HX-Redirect") == f"/orders/{order_no}"
    detail = await client.get(f"/orders/{order_no}")
    assert "已取消" in detail.text
    status = await client.get(f"/orders/{order_no}/status", params={"wait": 15}, headers=htmx(client))
    assert status.status_code == 286 and "已取消" in status.text  # 286: the QR page stops asking
    by_hand = await client.get(f"/orders/{order_no}/status", follow_redirects=False)
    assert by_hand.status_code == 303 and by_hand.headers["location"] == f"/orders/{order_no}"
    again = await client.post(f"/orders/{order_no}/cancel", headers=htmx(client))
    assert again.status_code == 422 and "无法取消" in again.text
    pay_again = await client.post(f"/cashier/{order_no}/next", data={"channel": "alipay"}, headers=htmx(client))
    assert pay_again.status_code == 422 and "无法支付" in pay_again.text


async def test_unsafe_request_without_csrf_token_is_refused(trainee_client, sessionmaker) -> None:
    client = trainee_client
    [cid] = await course_ids(sessionmaker, "IT-02")
    resp = await client.post("/cart/items", data={"course_id": str(cid)})
    assert resp.status_code == 403


async def test_payment_after_close_is_refunded_once_and_shown(trainee_client, sessionmaker, app) -> None:
    client = trainee_client
    [cid] = await course_ids(sessionmaker, "ECO-03")
    resp = await checkout(client, [cid])
    order_no = resp.headers["HX-Redirect"].split("/")[2]
    page = await client.post(f"/cashier/{order_no}/next", data={"channel": "wechat"}, headers=htmx(client))
    trade_no = re.search(r"/paysim/scan/(\w+)", page.text).group(1)  # type: ignore[union-attr]
    await client.post(f"/orders/{order_no}/cancel", headers=htmx(client))

    # the phone refuses the closed trade ...
    refused = await client.post(f"/paysim/scan/{trade_no}/pay", headers=htmx(client))
    assert "交易已关闭" in refused.text
    # ... but a payment that raced the close still arrives, and is refunded automatically
    await app.state.paysim.pay(trade_no, force=True)
    app.state.notifier.kick()

    async def refunded() -> str | None:
        detail = await client.get(f"/orders/{order_no}")
        return detail.text if "关单后到账退款" in detail.text and "已退款" in detail.text else None

    text = await eventually(refunded)
    assert "¥40.00" in text and "已取消" in text
    notices = (await client.get("/my/notices")).text
    assert "退款已完成" in notices and f"订单 {order_no} 的 ¥40.00 已退回原支付账户" in notices
    assert "订单已关闭" not in notices  # the trainee cancelled it: no notice for that
    async with sessionmaker() as s:
        enrolled = await s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.order_no == order_no))
    assert enrolled == 0  # the closed order enrolled nobody


async def test_two_checkouts_drawing_the_same_order_number_both_succeed(
    sessionmaker, temporal_client, settings, worker, monkeypatch
) -> None:
    from datetime import UTC, datetime

    import api.orders_service as service

    draws = iter([42, 42, 43])
    monkeypatch.setattr(service.secrets, "randbelow", lambda _n: next(draws))
    now = datetime.now(UTC)
    [cid] = await course_ids(sessionmaker, "AGR-05")
    views = []
    for _ in range(2):
        trainee = await make_trainee(sessionmaker)
        async with sessionmaker() as session:
            views.append(
                await service.place_order(
                    session=session,
                    client=temporal_client,
                    settings=settings,
                    trainee=trainee,
                    course_ids=[cid],
                    training_year=YEAR,
                    training_type="in_post",
                    now=now,
                )
            )
    assert views[0].order_no.endswith("-000042") and views[1].order_no.endswith("-000043")
