"""Hostile input and faults through HTTP: length limits from one place (api/limits.py), numbers out
of range, Temporal unreachable (503, nothing changed), and checkouts sent again or in parallel."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.limits import NUMBER_FIELDS, column_length, text_field
from db.models.catalog import Course
from db.models.checkout import Checkout, OpenOrderLine
from db.models.invoice_guard import InvoicedOrder
from db.models.invoices import PersonalInvoiceApplication
from db.models.orders import Enrollment, EnrollmentStatus, Order, OrderItem
from domain.errors import MESSAGES
from tests.support import csrf, enter_school, eventually, htmx, login_trainee, make_trainee
from tests.support.invoicing import paid_order

pytestmark = pytest.mark.usefixtures("live_server")
YEAR = date.today().year
BUSY = "系统繁忙，请稍后再试"


@pytest.fixture
async def trainee_client(client: httpx.AsyncClient, sessionmaker):
    user = await make_trainee(sessionmaker)
    await login_trainee(client, user)
    await enter_school(client)
    client.user = user  # type: ignore[attr-defined]
    return client


async def course_id(maker: async_sessionmaker[AsyncSession], code: str) -> int:
    async with maker() as s:
        cid = await s.scalar(select(Course.id).where(Course.code == code, Course.school_id == 1))
        assert cid is not None
        return cid


# ---- one place for the limits, within the columns ---------------------------------------------------


def _form_fields(dependant: Any) -> list[tuple[str, Any]]:
    fields = [(f.alias, f) for f in dependant.body_params]
    for sub in dependant.dependencies:
        fields += _form_fields(sub)
    return fields


def test_every_form_field_of_every_route_has_a_limit_within_its_column(app) -> None:
    undeclared = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for name, f in _form_fields(route.dependant):
            if f.field_info.annotation is not None and "UploadFile" in str(f.field_info.annotation):
                continue
            if name not in NUMBER_FIELDS and text_field(name) is None:
                undeclared.append(f"{route.path}: {name}")
    assert undeclared == []
    # the inbox reads its decision form by hand: its fields are declared too
    for name in ("decision", "reason", "item-12", "reason-12"):
        assert text_field(name) is not None
    from api.limits import TEXT_FIELD_PREFIXES, TEXT_FIELDS

    for name, spec in [*TEXT_FIELDS.items(), *TEXT_FIELD_PREFIXES.items()]:
        for column in spec.columns:
            length = column_length(column)
            assert length is None or spec.limit <= length, (name, column, spec.limit, length)
        assert 0 < spec.limit <= 1000, name


# ---- the invoice title of 10,000 characters -------------------------------------------------------------


async def test_a_10000_character_invoice_title_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, sessionmaker
) -> None:
    user = await make_trainee(sessionmaker, "长抬头")
    await login_trainee(client, user)
    order_no = await paid_order(sessionmaker, user.id, "PUB-02")
    data = {
        "title_type": "personal",
        "title": "湖" * 10_000,
        "tax_id": "",
        "email": "long@example.cn",
        "order_nos": [order_no],
    }
    resp = await client.post("/my/invoices", data=data, headers=htmx(client))
    assert resp.status_code == 422
    assert "发票抬头不能超过100个字符" in resp.text
    async with sessionmaker() as s:
        assert await s.get(InvoicedOrder, order_no) is None
        count = select(func.count()).select_from(PersonalInvoiceApplication)
        assert await s.scalar(count.where(PersonalInvoiceApplication.trainee_id == user.id)) == 0
    page = await client.get("/my/invoices")
    assert "可申请" in page.text  # the order can still be invoiced with a proper title


# ---- numbers out of range ------------------------------------------------------------------------------


async def test_a_course_id_of_2_to_the_63_is_refused_with_a_message(trainee_client, sessionmaker) -> None:
    client = trainee_client
    data = {"course_ids": [str(2**63)], "training_year": str(YEAR), "training_type": "in_post"}
    resp = await client.post("/orders", data=data, headers=htmx(client))
    assert resp.status_code == 422 and "课程超出允许范围" in resp.text
    plain = await client.post("/orders", data=data, headers=csrf(client))
    assert plain.status_code == 422 and "课程超出允许范围" in plain.text
    added = await client.post("/cart/items", data={"course_id": "9" * 40}, headers=htmx(client))
    assert added.status_code == 422 and "课程超出允许范围" in added.text
    async with sessionmaker() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Checkout).where(Checkout.trainee_id == client.user.id)) == 0
        )


async def test_ids_out_of_range_in_paths_and_pages_answer_not_500(trainee_client) -> None:
    client = trainee_client
    withdraw = await client.post(f"/my/courses/{2**63}/withdraw", headers=htmx(client))
    assert withdraw.status_code == 404 and MESSAGES["NotFound"] in withdraw.text
    study = await client.get(f"/study/{'9' * 10_000}")
    assert study.status_code == 404
    orders = await client.get("/my/orders?page=99999999999999999999999")
    assert orders.status_code == 422 and "页码超出允许范围" in orders.text
    catalog = await client.get("/courses", params={"category": "9" * 10_000}, headers=htmx(client))
    assert catalog.status_code == 422 and "课程类目不能超过10个字符" in catalog.text


async def test_an_hours_value_of_10000_digits_is_refused_with_a_message(client, sessionmaker) -> None:
    user = await make_trainee(sessionmaker, "学时")
    await login_trainee(client, user)
    data = {
        "training_name": "培训",
        "organiser": "主办",
        "start_date": f"{YEAR}-01-02",
        "end_date": f"{YEAR}-01-03",
        "subject_category": "public",
        "training_type": "in_post",
        "hours": "9" * 10_000,
        "year": str(YEAR),
    }
    resp = await client.post("/my/hours/records", data=data, headers=htmx(client))
    assert resp.status_code == 422 and "学时数不能超过6个字符" in resp.text
    long_name = await client.post(
        "/my/hours/records", data={**data, "hours": "2", "training_name": "培" * 201}, headers=htmx(client)
    )
    assert long_name.status_code == 422 and "培训名称不能超过200个字符" in long_name.text


# ---- Temporal unreachable --------------------------------------------------------------------------------


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


@pytest.fixture
async def dead_temporal_client(settings, sessionmaker) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a Temporal client pointed at a dead port (a dev server restarting)."""
    from api.app import create_app

    dead = await Client.connect(f"127.0.0.1:{_dead_port()}", lazy=True)
    application = create_app(settings, temporal_client=dead)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            await c.get("/login")
            yield c


async def _enrollment(maker: async_sessionmaker[AsyncSession], trainee_id: int) -> int:
    order_no = await paid_order(maker, trainee_id, "AGR-05")
    async with maker() as s:
        item = await s.scalar(select(OrderItem).where(OrderItem.order_no == order_no))
        assert item is not None
        e = Enrollment(
            order_item_id=item.id,
            order_no=order_no,
            trainee_id=trainee_id,
            course_id=item.course_id,
            school_id=1,
            training_year=YEAR,
            training_type="in_post",
            price_cents=item.price_cents,
            status=EnrollmentStatus.NOT_STARTED,
            total_seconds=600,
        )
        s.add(e)
        await s.commit()
        return e.id


async def test_withdraw_and_checkout_while_temporal_is_unreachable_answer_503_and_change_nothing(
    dead_temporal_client, sessionmaker
) -> None:
    client = dead_temporal_client
    user = await make_trainee(sessionmaker, "断线")
    await login_trainee(client, user)
    await enter_school(client)
    enrollment_id = await _enrollment(sessionmaker, user.id)

    withdraw = await client.post(f"/my/courses/{enrollment_id}/withdraw", headers=htmx(client))
    assert withdraw.status_code == 503 and BUSY in withdraw.text
    assert BUSY in withdraw.headers["HX-Trigger"].encode().decode("unicode_escape")
    plain = await client.post(f"/my/courses/{enrollment_id}/withdraw", headers=csrf(client))
    assert plain.status_code == 503 and BUSY in plain.text and "<html" in plain.text.lower()
    async with sessionmaker() as s:
        assert (await s.get(Enrollment, enrollment_id)).status == EnrollmentStatus.NOT_STARTED

    cid = await course_id(sessionmaker, "PUB-02")
    data = {"course_ids": [str(cid)], "training_year": str(YEAR), "training_type": "in_post", "checkout_key": "k1"}
    checkout = await client.post("/orders", data=data, headers=htmx(client))
    assert checkout.status_code == 503 and BUSY in checkout.text
    async with sessionmaker() as s:  # no claim left behind: the next try starts afresh
        assert await s.scalar(select(func.count()).select_from(Checkout).where(Checkout.trainee_id == user.id)) == 0
        assert (
            await s.scalar(select(func.count()).select_from(OpenOrderLine).where(OpenOrderLine.trainee_id == user.id))
            == 0
        )


async def test_an_rpc_error_from_temporal_answers_503(app, client, sessionmaker, monkeypatch) -> None:
    """A connected client whose server went away raises RPCError (tcp connect error)."""
    user = await make_trainee(sessionmaker, "重启")
    await login_trainee(client, user)
    enrollment_id = await _enrollment(sessionmaker, user.id)

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise RPCError("tcp connect error", RPCStatusCode.UNAVAILABLE, b"")

    monkeypatch.setattr(app.state.temporal, "execute_update_with_start_workflow", down)
    resp = await client.post(f"/my/courses/{enrollment_id}/withdraw", headers=htmx(client))
    assert resp.status_code == 503 and BUSY in resp.text
    async with sessionmaker() as s:
        assert (await s.get(Enrollment, enrollment_id)).status == EnrollmentStatus.NOT_STARTED


# ---- idempotent checkout ------------------------------------------------------------------------------


def _order_no(resp: httpx.Response) -> str:
    target = resp.headers.get("HX-Redirect") or resp.headers.get("location") or ""
    found = re.search(r"/orders/([\w-]+)/pay", target)
    assert found, (resp.status_code, resp.text)
    return found.group(1)


async def test_a_checkout_form_sent_again_answers_with_the_same_order(trainee_client, sessionmaker) -> None:
    client = trainee_client
    cid = await course_id(sessionmaker, "AGR-01")
    cart = await client.get(f"/buy/{cid}")
    key = re.search(r'name="checkout_key" value="([^"]+)"', cart.text)
    assert key, "the checkout form carries its key"
    data = {
        "course_ids": [str(cid)],
        "training_year": str(YEAR),
        "training_type": "in_post",
        "checkout_key": key.group(1),
    }
    first = _order_no(await client.post("/orders", data=data, headers=htmx(client)))
    again = _order_no(await client.post("/orders", data=data, headers=htmx(client)))
    assert again == first
    # a new form for the same course (another tab) finds the open order too, not a second one
    other = _order_no(await client.post("/orders", data={**data, "checkout_key": "another-tab"}, headers=htmx(client)))
    assert other == first
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Order).where(Order.trainee_id == client.user.id)) == 1


async def test_ten_parallel_checkouts_of_one_course_make_one_order(trainee_client, sessionmaker) -> None:
    client = trainee_client
    cid = await course_id(sessionmaker, "AGR-02")
    data = {"course_ids": [str(cid)], "training_year": str(YEAR), "training_type": "in_post"}
    answers = await asyncio.gather(
        *(client.post("/orders", data={**data, "checkout_key": f"tab-{i}"}, headers=htmx(client)) for i in range(10))
    )
    assert {a.status_code for a in answers} == {204}, [a.text for a in answers if a.status_code != 204]
    assert len({_order_no(a) for a in answers}) == 1
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Order).where(Order.trainee_id == client.user.id)) == 1

    # another order holding that course is refused while the first is open
    other = await course_id(sessionmaker, "AGR-03")
    mixed = await client.post(
        "/orders", data={**data, "course_ids": [str(cid), str(other)], "checkout_key": "mixed"}, headers=htmx(client)
    )
    assert mixed.status_code == 422 and MESSAGES["OrderAlreadyOpen"] in mixed.text

    # cancelled, the course can be checked out again
    no = _order_no(answers[0])
    cancel = await client.post(f"/orders/{no}/cancel", headers=htmx(client))
    assert cancel.status_code in (200, 204, 303)
    again = await client.post("/orders", data={**data, "checkout_key": "after-cancel"}, headers=htmx(client))
    assert _order_no(again) != no

    async def two_orders() -> bool:
        async with sessionmaker() as s:
            n = await s.scalar(select(func.count()).select_from(Order).where(Order.trainee_id == client.user.id))
            return n == 2

    await eventually(two_orders)


async def test_a_claim_whose_checkout_died_before_starting_the_order_is_taken_over(
    trainee_client, sessionmaker
) -> None:
    """The web process was killed between claiming the course and starting the order: after a short
    while the claim is void, and the trainee can check the course out (no order is stuck open)."""
    from datetime import timedelta

    from db.base import utcnow

    client = trainee_client
    cid = await course_id(sessionmaker, "AGR-04")
    async with sessionmaker() as s:
        s.add(
            Checkout(
                order_no="DEAD-0001",
                trainee_id=client.user.id,
                checkout_key="dead",
                created_at=utcnow() - timedelta(minutes=5),
            )
        )
        await s.flush()
        s.add(OpenOrderLine(order_no="DEAD-0001", trainee_id=client.user.id, course_id=cid, training_year=YEAR))
        await s.commit()
    data = {"course_ids": [str(cid)], "training_year": str(YEAR), "training_type": "in_post", "checkout_key": "fresh"}
    resp = await client.post("/orders", data=data, headers=htmx(client))
    order_no = _order_no(resp)
    assert order_no != "DEAD-0001"
    async with sessionmaker() as s:
        lines = (
            await s.scalars(select(OpenOrderLine.order_no).where(OpenOrderLine.trainee_id == client.user.id))
        ).all()
    assert lines == [order_no]


async def test_a_retry_after_the_web_died_between_claim_and_start_starts_that_same_order(
    trainee_client, sessionmaker
) -> None:
    """The first try claimed its number and died before starting the order; the browser's retry
    (same form, same key) starts the order under that number, once."""
    from datetime import UTC, datetime

    from domain.orders import make_order_no

    client = trainee_client
    cid = await course_id(sessionmaker, "PUB-03")
    claimed = make_order_no(datetime.now(UTC), 777_001 + client.user.id % 1000)
    async with sessionmaker() as s:
        s.add(Checkout(order_no=claimed, trainee_id=client.user.id, checkout_key="lost-answer"))
        await s.flush()
        s.add(OpenOrderLine(order_no=claimed, trainee_id=client.user.id, course_id=cid, training_year=YEAR))
        await s.commit()
    data = {
        "course_ids": [str(cid)],
        "training_year": str(YEAR),
        "training_type": "in_post",
        "checkout_key": "lost-answer",
    }
    first, second = await asyncio.gather(*(client.post("/orders", data=data, headers=htmx(client)) for _ in range(2)))
    assert _order_no(first) == _order_no(second) == claimed
    page = await client.get(f"/orders/{claimed}/pay")
    assert page.status_code == 200 and claimed in page.text
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Order).where(Order.trainee_id == client.user.id)) == 1


async def test_a_heartbeat_with_numbers_out_of_range_is_refused_not_a_500(trainee_client) -> None:
    client = trainee_client
    for body in (
        '{"session_id": "s", "chapter_id": 9223372036854775808, "position": 1}',
        '{"session_id": "s", "chapter_id": 1, "position": 1e400}',
        '{"session_id": "s", "chapter_id": 1, "position": NaN}',
    ):
        resp = await client.post(
            "/study/1/heartbeat", content=body, headers={**csrf(client), "Content-Type": "application/json"}
        )
        assert resp.status_code == 422, (body, resp.status_code, resp.text[:200])
