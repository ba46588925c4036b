"""消息中心 through HTTP and its writers: the activity that closes an unpaid order writes the notice
once (however often it runs), the list with its unread badge, mark as read as htmx sends it, the
link to what a notice is about, paging, the empty state, and another trainee's notice."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select, update

from activities.orders import OrderActivities
from db.models.notices import Notice
from db.models.orders import Order, OrderStatus
from db.notices import add_notice
from domain import notices as n
from tests.support import csrf, htmx, login_trainee, make_trainee
from tests.support.invoicing import paid_order


@pytest.fixture
async def trainee_client(client: httpx.AsyncClient, sessionmaker):
    user = await make_trainee(sessionmaker)
    await login_trainee(client, user)
    client.user = user  # type: ignore[attr-defined]
    return client


async def pending_order(maker, trainee_id: int) -> str:
    order_no = await paid_order(maker, trainee_id, "PUB-03")
    async with maker() as s:
        await s.execute(update(Order).where(Order.order_no == order_no).values(status=OrderStatus.PENDING))
        await s.commit()
    return order_no


async def notices_of(maker, user_id: int) -> list[Notice]:
    async with maker() as s:
        return list((await s.scalars(select(Notice).where(Notice.user_id == user_id).order_by(Notice.id))).all())


async def test_an_order_closed_unpaid_is_noticed_once(sessionmaker) -> None:
    trainee = await make_trainee(sessionmaker)
    acts = OrderActivities(sessionmaker, gateway=None)  # type: ignore[arg-type]
    closed = await pending_order(sessionmaker, trainee.id)
    await acts.close_order(closed, OrderStatus.CLOSED)
    await acts.close_order(closed, OrderStatus.CLOSED)  # a retried activity
    cancelled = await pending_order(sessionmaker, trainee.id)
    await acts.close_order(cancelled, OrderStatus.CANCELLED)  # the trainee did it: nothing to tell
    [notice] = await notices_of(sessionmaker, trainee.id)
    assert notice.title == "订单已关闭" and closed in notice.body and notice.link == f"/orders/{closed}"


async def test_list_badge_mark_read_and_link(trainee_client, sessionmaker) -> None:
    client = trainee_client
    user = client.user
    async with sessionmaker() as s:
        await add_notice(s, n.refund_done(user.id, "D100", "R100", 4000))
        await add_notice(s, n.invoice_rejected(user.id, "FP100", "抬头有误", "/my/invoices/FP100"))
        assert not await add_notice(s, n.refund_done(user.id, "D100", "R100", 4000))  # keyed: once
        await s.commit()
    badge = await client.get("/my/notices/count", headers=htmx(client))
    assert badge.text == "2"
    page = await client.get("/my/notices")
    assert "消息中心" in page.text and 'id="notices-unread">2<' in page.text
    assert "退款已完成" in page.text and "驳回原因：抬头有误" in page.text
    assert page.text.index("发票申请已驳回") < page.text.index("退款已完成")  # newest first
    first, second = await notices_of(sessionmaker, user.id)

    # 标为已读, as the button sends it: the list fragment comes back and the badge is told to refresh
    resp = await client.post(f"/my/notices/{first.id}/read", data={"page": "1"}, headers=htmx(client))
    assert resp.status_code == 200 and resp.headers["HX-Trigger"] == "noticeChanged"
    assert resp.text.lstrip().startswith('<div id="notices">') and "<html" not in resp.text
    assert 'id="notices-unread">1<' in resp.text
    assert (await client.get("/my/notices/count", headers=htmx(client))).text == "1"

    # 查看详情 marks it read on the way to what it is about
    opened = await client.get(f"/my/notices/{second.id}/open")
    assert opened.status_code == 303 and opened.headers["location"] == "/my/invoices/FP100"
    assert (await client.get("/my/notices/count", headers=htmx(client))).text == ""


async def test_read_all_paging_and_empty_state(trainee_client, sessionmaker) -> None:
    client = trainee_client
    empty = await client.get("/my/notices")
    assert "暂无消息" in empty.text and "全部标为已读" not in empty.text
    async with sessionmaker() as s:
        for i in range(25):
            await add_notice(s, n.payment_confirmed(client.user.id, f"P{i:03d}", 100))
        await s.commit()
    page2 = await client.get("/my/notices", params={"page": 2})
    assert page2.text.count('class="notice ') == 5 and "共 25 条" in page2.text
    resp = await client.post("/my/notices/read-all", data={"page": "1"}, headers=htmx(client))
    assert resp.headers["HX-Trigger"] == "noticeChanged" and 'id="notices-unread">0<' in resp.text
    async with sessionmaker() as s:
        unread = await s.scalar(
            select(func.count()).select_from(Notice).where(Notice.user_id == client.user.id, Notice.read_at.is_(None))
        )
    assert unread == 0


async def test_another_trainees_notice_is_not_found(trainee_client, sessionmaker) -> None:
    client = trainee_client
    other = await make_trainee(sessionmaker)
    async with sessionmaker() as s:
        await add_notice(s, n.payment_confirmed(other.id, "X1", 100))
        await s.commit()
    [theirs] = await notices_of(sessionmaker, other.id)
    for resp in (
        await client.post(f"/my/notices/{theirs.id}/read", headers=htmx(client)),
        await client.get(f"/my/notices/{theirs.id}/open"),
    ):
        assert resp.status_code == 404 and "消息不存在" in resp.text
    [still] = await notices_of(sessionmaker, other.id)
    assert still.read_at is None
    big = await client.post("/my/notices/99999999999/read", headers=csrf(client))
    assert big.status_code == 404


async def test_the_header_badge_asks_for_the_count(trainee_client, sessionmaker) -> None:
    page = await trainee_client.get("/my/notices")
    assert 'hx-get="/my/notices/count"' in page.text and "noticeChanged from:body" in page.text
