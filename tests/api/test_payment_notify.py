"""POST /payments/notify/{alipay,wechat} with a stub Temporal client: only genuine notifications (each
provider's signature, WeChat's encrypted resource) for the right amount reach the order workflow;
and the simulator's phone page delivers one within a second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.service import RPCError, RPCStatusCode

import db.models  # noqa: F401  (every table)
from api.app import create_app
from config import Settings
from db.base import Base, make_engine, make_sessionmaker, utcnow
from db.models.catalog import School
from db.models.orders import Order, OrderStatus
from db.models.paysim import SimNotification
from db.models.users import Role, User
from domain.orders import OrderState, OrderView, PaymentReceived
from gateways.notifier import Notifier
from gateways.paysim_keys import load_sim_keys
from gateways.paysim_wire import AlipayWire, WechatWire
from gateways.simulator import SimulatorGateway

ORDER_NO = "20261128223015-0001"
AMOUNT = 12000


class FakeHandle:
    def __init__(self, client: FakeClient, workflow_id: str) -> None:
        self.client = client
        self.workflow_id = workflow_id

    async def execute_update(self, update: Any, arg: Any) -> OrderView:
        if self.client.workflow_gone:
            raise RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")
        self.client.updates.append((self.workflow_id, update.__name__, arg))
        return OrderView(
            order_no=ORDER_NO, state=self.client.answer_state, amount_cents=AMOUNT, expires_at="", trade_no=arg.trade_no
        )


class FakeClient:
    """Records the Updates the web app sends instead of talking to Temporal."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, str, Any]] = []
        self.workflow_gone = False
        self.answer_state = OrderState.PAID

    def get_workflow_handle(self, workflow_id: str) -> FakeHandle:
        return FakeHandle(self, workflow_id)


@dataclass
class Stub:
    app: FastAPI
    http: httpx.AsyncClient
    temporal: FakeClient
    maker: async_sessionmaker[AsyncSession]
    settings: Settings
    gateway: SimulatorGateway = field(init=False)

    def __post_init__(self) -> None:
        self.gateway = SimulatorGateway(self.maker, self.settings)


@pytest_asyncio.fixture
async def stub(tmp_path: Path) -> AsyncIterator[Stub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    maker = make_sessionmaker(engine)
    async with maker() as session:
        school = School(code="hunau", name="湖南农业大学")
        trainee = User(role=Role.TRAINEE, name="张三")
        session.add_all([school, trainee])
        await session.flush()
        now = utcnow()
        session.add(
            Order(
                order_no=ORDER_NO,
                trainee_id=trainee.id,
                school_id=school.id,
                training_year=2026,
                training_type="professional",
                amount_cents=AMOUNT,
                status=OrderStatus.PENDING,
                created_at=now,
                expires_at=now + timedelta(minutes=30),
            )
        )
        await session.commit()

    settings = Settings(
        database_url=url,
        var_dir=tmp_path,
        base_url="http://testserver",
        notify_retry_seconds=0.5,
    )
    fake = FakeClient()
    app = create_app(settings, temporal_client=fake)  # type: ignore[arg-type]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    app.state.notify_client = http  # the simulator's notifications reach the app in-process
    async with app.router.lifespan_context(app):
        yield Stub(app=app, http=http, temporal=fake, maker=maker, settings=settings)
    await http.aclose()
    await engine.dispose()


def _content(amount: int = AMOUNT, order_no: str = ORDER_NO, channel: str = "alipay") -> dict[str, str]:
    trade_no = "2026112822001000000000000001" if channel == "alipay" else "4200000001202611280000000001"
    return {
        "channel": channel,
        "out_trade_no": f"{order_no}-{channel}",
        "trade_no": trade_no,
        "amount_cents": str(amount),
        "paid_at": utcnow().isoformat(),
    }


def _notice(stub: Stub, amount: int = AMOUNT, order_no: str = ORDER_NO) -> dict[str, str]:
    """A genuine Alipay notification: RSA2-signed form parameters, as the simulator posts them."""
    note = stub.app.state.alipay_wire.notification(_content(amount, order_no))
    return dict(note.form)


def _forger(tmp_path: Path, settings: Settings) -> tuple[AlipayWire, WechatWire]:
    """The same protocols signed with keys that are not the provider's."""
    keys = load_sim_keys(tmp_path / "forger")
    store = SimulatorGateway(None, settings)  # type: ignore[arg-type]  # it only signs here
    return AlipayWire(store, keys, settings), WechatWire(store, keys, settings)


async def _post(stub: Stub, params: dict[str, str]) -> httpx.Response:
    return await stub.http.post("/payments/notify/alipay", data=params)


async def _post_wechat(stub: Stub, headers: dict[str, str] | None, body: bytes) -> httpx.Response:
    return await stub.http.post("/payments/notify/wechat", content=body, headers=headers)


async def test_genuine_notification_is_handed_to_the_order_workflow(stub: Stub) -> None:
    resp = await _post(stub, _notice(stub))
    assert resp.status_code == 200
    assert resp.text == "success"
    assert len(stub.temporal.updates) == 1
    workflow_id, name, payment = stub.temporal.updates[0]
    assert (workflow_id, name) == (f"order-{ORDER_NO}", "payment_received")
    assert isinstance(payment, PaymentReceived)
    assert payment.amount_cents == AMOUNT
    assert payment.trade_no == "2026112822001000000000000001"
    assert payment.out_trade_no == f"{ORDER_NO}-alipay"


async def test_forged_signature_is_refused(stub: Stub, tmp_path: Path, caplog) -> None:
    forged = _forger(tmp_path, stub.settings)[0].notification(_content())
    resp = await _post(stub, dict(forged.form or {}))
    assert (resp.status_code, resp.text) == (400, "fail")
    assert stub.temporal.updates == []
    assert "signature" in caplog.text


async def test_tampered_amount_is_refused(stub: Stub) -> None:
    params = _notice(stub)
    params["total_amount"] = "0.01"
    resp = await _post(stub, params)
    assert (resp.status_code, resp.text) == (400, "fail")
    assert stub.temporal.updates == []


async def test_amount_not_matching_the_order_is_refused(stub: Stub, caplog) -> None:
    resp = await _post(stub, _notice(stub, amount=AMOUNT - 1))  # genuinely signed, wrong amount
    assert (resp.status_code, resp.text) == (400, "fail")
    assert stub.temporal.updates == []
    assert "does not match order" in caplog.text


async def test_unknown_order_is_refused(stub: Stub) -> None:
    resp = await _post(stub, _notice(stub, order_no="20990101000000-9999"))
    assert (resp.status_code, resp.text) == (400, "fail")
    assert stub.temporal.updates == []


async def test_missing_field_is_refused(stub: Stub) -> None:
    params = _notice(stub)
    del params["trade_no"]
    resp = await _post(stub, params)
    assert (resp.status_code, resp.text) == (400, "fail")
    assert stub.temporal.updates == []


async def test_finished_workflow_answers_fail_so_the_provider_retries(stub: Stub) -> None:
    stub.temporal.workflow_gone = True
    resp = await _post(stub, _notice(stub))
    assert resp.text == "fail" and resp.status_code != 200


async def test_genuine_wechat_notification_is_decrypted_and_handed_on(stub: Stub) -> None:
    note = stub.app.state.wechat_wire.notification(_content(channel="wechat"))
    assert b"4200000001" not in note.body  # the transaction travels encrypted
    resp = await _post_wechat(stub, note.headers, note.body)
    assert resp.status_code == 204
    [(_, _, payment)] = stub.temporal.updates
    assert (payment.trade_no, payment.amount_cents, payment.channel) == (
        "4200000001202611280000000001",
        AMOUNT,
        "wechat",
    )


async def test_wechat_notification_with_a_tampered_ciphertext_is_refused(stub: Stub) -> None:
    import base64
    import json

    note = stub.app.state.wechat_wire.notification(_content(channel="wechat"))
    data = json.loads(note.body)
    raw = bytearray(base64.b64decode(data["resource"]["ciphertext"]))
    raw[3] ^= 0x01
    data["resource"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    body = json.dumps(data).encode()
    # even re-signed by the provider, a ciphertext that does not decrypt is refused (AES-GCM's tag)
    resigned = {**note.headers, **stub.app.state.wechat_wire.signature_headers(body)}
    for headers in (note.headers, resigned):
        resp = await _post_wechat(stub, headers, body)
        assert resp.status_code == 400 and resp.json()["code"] == "FAIL"
    assert stub.temporal.updates == []


async def test_wechat_notification_forged_or_stale_is_refused(stub: Stub, tmp_path: Path) -> None:
    forged = _forger(tmp_path, stub.settings)[1].notification(_content(channel="wechat"))
    assert (await _post_wechat(stub, forged.headers, forged.body)).status_code == 400
    note = stub.app.state.wechat_wire.notification(_content(channel="wechat"))
    stale = {**note.headers, "Wechatpay-Timestamp": str(int(note.headers["Wechatpay-Timestamp"]) - 3600)}
    assert (await _post_wechat(stub, stale, note.body)).status_code == 400
    assert stub.temporal.updates == []


async def _open_trade(stub: Stub, channel: str = "alipay"):
    return await stub.gateway.precreate(
        order_no=ORDER_NO,
        channel=channel,
        amount_cents=AMOUNT,
        subject=f"继续教育课程费（订单 {ORDER_NO}）",
        expires_at=(utcnow() + timedelta(minutes=30)).isoformat(),
    )


async def test_phone_page_pays_and_the_notification_arrives(stub: Stub) -> None:
    trade = await _open_trade(stub)
    page = await stub.http.get(f"/paysim/scan/{trade.trade_no}")
    assert page.status_code == 200
    for text in (
        "支付宝",
        "湖南农业大学",
        "¥120.00",
        "确认支付",
        'id="sim-pay"',
        "此页面模拟手机扫码后的支付页面",
    ):
        assert text in page.text

    token = stub.http.cookies.get("csrftoken") or ""
    paid = await stub.http.post(f"/paysim/scan/{trade.trade_no}/pay", headers={"X-CSRF-Token": token})
    assert paid.status_code == 200
    assert "支付成功" in paid.text

    # the pay action kicks the sender (how fast is bench's to measure: a timed assertion here fails
    # on a busy machine)
    for _ in range(200):
        if stub.temporal.updates:
            break
        await asyncio.sleep(0.05)
    assert [s[2].trade_no for s in stub.temporal.updates] == [trade.trade_no]
    async with stub.maker() as session:
        note = (await session.scalars(select(SimNotification))).one()
    assert note.acked_at is not None and note.attempts == 1

    again = await stub.http.post(f"/paysim/scan/{trade.trade_no}/pay", headers={"X-CSRF-Token": token})
    assert again.status_code == 409 and "该订单已支付" in again.text


async def test_phone_page_refuses_a_closed_trade(stub: Stub) -> None:
    trade = await _open_trade(stub, channel="wechat")
    await stub.gateway.close(out_trade_no=trade.out_trade_no)
    page = await stub.http.get(f"/paysim/scan/{trade.trade_no}")
    assert "微信支付" in page.text and "交易已关闭" in page.text and 'id="sim-pay"' not in page.text
    token = stub.http.cookies.get("csrftoken") or ""
    resp = await stub.http.post(f"/paysim/scan/{trade.trade_no}/pay", headers={"X-CSRF-Token": token})
    assert resp.status_code == 409 and "交易已关闭" in resp.text
    assert stub.temporal.updates == []


async def test_unacknowledged_notification_is_retried_with_doubling_delay(stub: Stub) -> None:
    """The merchant refuses (workflow gone): the simulator retries 0.5 s, 1 s, 2 s ... later, until
    the answer is `success`."""
    await stub.app.state.stop_notifier()  # a sender of our own, with the clock in our hands
    notifier = Notifier(stub.maker, stub.settings, stub.http)
    stub.temporal.workflow_gone = True
    trade = await _open_trade(stub)
    await stub.gateway.pay(trade.trade_no)
    t0 = utcnow()

    async def note() -> SimNotification:
        async with stub.maker() as session:
            return (await session.scalars(select(SimNotification))).one()

    assert await notifier.deliver_due(t0) == 0
    first = await note()
    assert first.attempts == 1 and first.acked_at is None and "fail" in (first.last_error or "")
    assert first.next_attempt_at == t0 + timedelta(seconds=0.5)

    assert await notifier.deliver_due(t0 + timedelta(seconds=0.4)) == 0  # not due yet: no attempt
    assert (await note()).attempts == 1

    assert await notifier.deliver_due(t0 + timedelta(seconds=0.5)) == 0
    second = await note()
    assert second.attempts == 2 and second.next_attempt_at == t0 + timedelta(seconds=1.5)  # 0.5 s, then 1 s

    stub.temporal.workflow_gone = False
    assert await notifier.deliver_due(t0 + timedelta(seconds=1.5)) == 1
    done = await note()
    assert done.acked_at is not None and done.attempts == 3
    assert len(stub.temporal.updates) == 1
    # once acknowledged it is never sent again
    assert await notifier.deliver_due(t0 + timedelta(hours=2)) == 0
    assert len(stub.temporal.updates) == 1


async def test_notifications_are_given_up_after_a_day(stub: Stub) -> None:
    await stub.app.state.stop_notifier()
    notifier = Notifier(stub.maker, stub.settings, stub.http)
    trade = await _open_trade(stub)
    await stub.gateway.pay(trade.trade_no)
    assert await notifier.deliver_due(utcnow() + timedelta(hours=24, seconds=1)) == 0
    assert stub.temporal.updates == []


def test_retry_delay_doubles_up_to_an_hour(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, notify_retry_seconds=2)
    notifier = Notifier(None, settings)  # type: ignore[arg-type]
    delays = [notifier.retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 12, 30)]
    assert delays == [2, 4, 8, 16, 3600, 3600]


async def test_a_claim_left_by_a_killed_process_lapses_within_seconds(stub: Stub) -> None:
    """A web process claimed the notification and was killed before posting it: another sender
    posts it once the short lease has lapsed, seconds later, not after a minute."""
    from gateways.notifier import CLAIM_FOR

    await stub.app.state.stop_notifier()
    trade = await _open_trade(stub)
    await stub.gateway.pay(trade.trade_no)
    async with stub.maker() as session:
        note = (await session.scalars(select(SimNotification))).one()
    dead = Notifier(stub.maker, stub.settings, stub.http)
    t0 = utcnow()
    assert await dead._claim(note.id, t0)  # ... and the process dies here, posting nothing

    survivor = Notifier(stub.maker, stub.settings, stub.http)
    assert await survivor.deliver_due(t0) == 0  # still claimed: not posted twice meanwhile
    assert stub.temporal.updates == []
    assert timedelta(seconds=5) >= CLAIM_FOR
    assert await survivor.deliver_due(utcnow() + CLAIM_FOR) == 1
    assert len(stub.temporal.updates) == 1


async def test_the_lease_is_renewed_while_a_slow_post_is_in_flight(stub: Stub, monkeypatch: Any) -> None:
    """The sender holding a notification keeps it while the merchant is slow to answer: no second
    sender posts it meanwhile, and the lease lapses only once the sender stops."""
    import gateways.notifier as notifier_module

    monkeypatch.setattr(notifier_module, "RENEW_EVERY_SECONDS", 0.05)
    await stub.app.state.stop_notifier()
    trade = await _open_trade(stub)
    await stub.gateway.pay(trade.trade_no)
    async with stub.maker() as session:
        note = (await session.scalars(select(SimNotification))).one()
    sender = Notifier(stub.maker, stub.settings, stub.http)
    posting = asyncio.Event()
    release = asyncio.Event()

    async def slow_post(payload: dict[str, Any]) -> str | None:
        posting.set()
        await release.wait()
        return None

    monkeypatch.setattr(sender, "_post", slow_post)
    task = asyncio.create_task(sender._deliver(note, utcnow()))
    await posting.wait()
    claimed_until = note.next_attempt_at

    async def lease() -> Any:
        async with stub.maker() as session:
            return (await session.get(SimNotification, note.id)).next_attempt_at  # type: ignore[union-attr]

    first = await lease()
    for _ in range(200):  # renewed: the lease moves on while the post is in flight
        await asyncio.sleep(0.05)
        if await lease() > first:
            break
    assert await lease() > first > claimed_until
    other = Notifier(stub.maker, stub.settings, stub.http)
    assert await other.deliver_due(utcnow()) == 0  # held by the live sender
    release.set()
    assert await task is True
    assert stub.temporal.updates == []  # the slow post stood in for the merchant
