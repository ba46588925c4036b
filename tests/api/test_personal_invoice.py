"""个人发票 through HTTP: 我的发票 → 发票申请 → 待开票 → finance 通过 in the inbox → 已开票, the mail
with its PDF in the catcher; 驳回 and 取消; every refusal of the form; double invoicing (also two
applications at once); the red-letter reversal recorded with a refund of an invoiced order."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.orders import OrderActivities
from db.models.invoice_guard import InvoicedOrder
from db.models.invoices import Invoice, PersonalInvoiceApplication
from db.models.orders import Order
from db.models.tasks import ReviewTask
from db.models.users import Role, User
from domain.credit_code import make_credit_code
from domain.invoicing import is_valid_invoice_number
from domain.orders import RefundRequest
from gateways.payment import RefundReceipt
from tests.support import eventually, htmx, login_trainee, make_staff, make_trainee, staff_client
from tests.support.invoicing import decide, paid_order
from tests.support.units import notice_titles

UNIT_CODE = make_credit_code("12430000MA4L00012")  # 17 characters + the check character


@pytest.fixture
async def trainee(client: httpx.AsyncClient, sessionmaker) -> User:
    user = await make_trainee(sessionmaker, "开票学员")
    await login_trainee(client, user)
    return user


@pytest.fixture
def finance_client(app, sessionmaker):
    @asynccontextmanager
    async def open_() -> AsyncIterator[httpx.AsyncClient]:
        async with staff_client(app, await make_staff(sessionmaker, Role.FINANCE)) as c:
            yield c

    return open_


def form(order_nos: list[str], **fields: str) -> dict[str, object]:
    data: dict[str, object] = {"title_type": "personal", "title": "张三", "tax_id": "", "email": "zhangsan@example.cn"}
    data.update(fields)
    data["order_nos"] = order_nos
    return data


async def apply(client: httpx.AsyncClient, order_nos: list[str], **fields: str) -> httpx.Response:
    return await client.post("/my/invoices", data=form(order_nos, **fields), headers=htmx(client))


async def application_of(maker: async_sessionmaker[AsyncSession], order_no: str) -> PersonalInvoiceApplication:
    async with maker() as s:
        guard = await s.get(InvoicedOrder, order_no)
        assert guard is not None, order_no
        app = await s.get(PersonalInvoiceApplication, guard.application_no)
        assert app is not None
        return app


async def task_of(maker: async_sessionmaker[AsyncSession], application_no: str) -> int:
    async def found() -> int | None:
        async with maker() as s:
            return await s.scalar(select(ReviewTask.id).where(ReviewTask.workflow_id == f"invoice-{application_no}"))

    return await eventually(found)


def row(page: str, order_no: str) -> str:
    match = re.search(rf'<tr data-order-no="{re.escape(order_no)}">(.*?)</tr>', page, re.S)
    assert match, order_no
    return match.group(1)


async def test_apply_approve_issue_and_mail(
    client, trainee, sessionmaker, settings, finance_client, mailcatcher
) -> None:
    first = await paid_order(sessionmaker, trainee.id, "PUB-02")
    second = await paid_order(sessionmaker, trainee.id, "AGR-01")
    page = (await client.get("/my/invoices")).text
    assert "可申请" in row(page, first) and 'name="order_nos"' in row(page, first)

    email = f"inv-{secrets.token_hex(4)}@example.cn"
    resp = await apply(
        client, [first, second], title_type="unit", title="湖南省农业科学院", tax_id=UNIT_CODE.lower(), email=email
    )
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/my/invoices?done=applied", resp.text
    page = (await client.get("/my/invoices?done=applied")).text
    assert "发票申请已提交" in page
    for no in (first, second):
        assert "待开票" in row(page, no) and 'name="order_nos"' not in row(page, no)  # not selectable twice
    app = await application_of(sessionmaker, first)
    assert app.amount_cents == 4000 + 8000 and app.tax_id == UNIT_CODE and app.status == "pending"

    view = await client.get(f"/my/invoices/{app.application_no}")
    assert "湖南省农业科学院" in view.text and "¥120.00" in view.text and "取消申请" in view.text

    task_id = await task_of(sessionmaker, app.application_no)
    async with finance_client() as fc:
        detail = await fc.get(f"/staff/tasks/{task_id}")
        assert "湖南省农业科学院" in detail.text and first in detail.text and UNIT_CODE in detail.text
        decided = await decide(fc, task_id, True)
        assert decided.status_code == 200 and "已通过" in decided.text

    async def issued() -> PersonalInvoiceApplication | None:
        a = await application_of(sessionmaker, first)
        return a if a.status == "issued" else None

    done = await eventually(issued, timeout=60)
    assert done.invoice_no and is_valid_invoice_number(done.invoice_no) and done.invoice_no[4] == "1"
    no = app.application_no  # 消息中心: the issuing activity told the trainee
    notice = f"发票已开具｜发票申请 {no} 已开具电子发票，发票号码 {done.invoice_no}。｜/my/invoices/{no}"
    assert notice in await notice_titles(sessionmaker, trainee.id)
    page = (await client.get("/my/invoices")).text
    assert "已开票" in row(page, first) and done.invoice_no in row(page, first)
    pdf = await client.get(f"/my/invoices/{app.application_no}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    async with httpx.AsyncClient(base_url=settings.mailcatcher_url) as mail_http:
        mails = [m for m in (await mail_http.get("/api/mails")).json() if email in " ".join(m["to"])]
        assert len(mails) == 1
        assert done.invoice_no in mails[0]["subject"]
        [attachment] = mails[0]["attachments"]
        assert attachment["content_type"] == "application/pdf" and attachment["filename"].endswith(".pdf")
        body = await mail_http.get(f"/mails/{mails[0]['id']}/attachments/0")
        assert body.content == pdf.content


async def test_form_refusals_leave_nothing_behind(client, trainee, sessionmaker) -> None:
    order_no = await paid_order(sessionmaker, trainee.id, "PUB-03")
    other = await make_trainee(sessionmaker)
    foreign = await paid_order(sessionmaker, other.id, "PUB-04")
    bad_check = UNIT_CODE[:-1] + ("0" if UNIT_CODE[-1] != "0" else "1")
    cases = [
        ([], {}, "请勾选要开票的订单"),
        ([foreign], {}, "所选订单不可开票"),
        ([order_no], {"title_type": "unit", "title": "某单位", "tax_id": ""}, "单位抬头须填写纳税人识别号"),
        ([order_no], {"title_type": "unit", "title": "某单位", "tax_id": bad_check}, "统一社会信用代码校验不通过"),
        ([order_no], {"title_type": "personal", "tax_id": "12345"}, "纳税人识别号格式不正确"),
        ([order_no], {"title": "  "}, "请填写发票抬头"),
        ([order_no], {"title_type": "company"}, "请选择抬头类型"),
        ([order_no], {"email": ""}, "请填写正确的电子邮箱"),
        ([order_no], {"email": "zhangsan@example"}, "请填写正确的电子邮箱"),
    ]
    for order_nos, fields, message in cases:
        resp = await apply(client, order_nos, **fields)
        assert resp.status_code == 422, (fields, resp.text)
        assert message in resp.text, (fields, resp.text)
    async with sessionmaker() as s:
        count = await s.scalar(
            select(func.count())
            .select_from(PersonalInvoiceApplication)
            .where(PersonalInvoiceApplication.trainee_id == trainee.id)
        )
        assert count == 0 and await s.get(InvoicedOrder, order_no) is None


async def test_an_order_is_never_invoiced_twice(client, trainee, sessionmaker) -> None:
    order_no = await paid_order(sessionmaker, trainee.id, "IT-01")
    assert (await apply(client, [order_no])).status_code == 204
    again = await apply(client, [order_no])
    assert again.status_code == 422 and "所选订单已申请或已开具发票" in again.text

    # two applications at the same moment: the guard in the database lets exactly one through
    racing = await paid_order(sessionmaker, trainee.id, "IT-02")
    results = await asyncio.gather(apply(client, [racing], title="甲"), apply(client, [racing], title="乙"))
    assert sorted(r.status_code for r in results) == [204, 422], [r.text for r in results]
    assert "所选订单已申请或已开具发票" in next(r.text for r in results if r.status_code == 422)
    async with sessionmaker() as s:
        holders = await s.scalar(
            select(func.count()).select_from(InvoicedOrder).where(InvoicedOrder.order_no == racing)
        )
        pending = await s.scalar(
            select(func.count())
            .select_from(PersonalInvoiceApplication)
            .where(PersonalInvoiceApplication.trainee_id == trainee.id, PersonalInvoiceApplication.status == "pending")
        )
    assert holders == 1 and pending == 2  # IT-01's application and the winner of the race


async def test_cancel_while_pending_frees_the_order(client, trainee, sessionmaker, app) -> None:
    order_no = await paid_order(sessionmaker, trainee.id, "ECO-01")
    await apply(client, [order_no])
    application = await application_of(sessionmaker, order_no)
    task_id = await task_of(sessionmaker, application.application_no)

    intruder = await make_trainee(sessionmaker)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as other:
        await login_trainee(other, intruder)
        assert (await other.get(f"/my/invoices/{application.application_no}")).status_code == 404
        assert (
            await other.post(f"/my/invoices/{application.application_no}/cancel", headers=htmx(other))
        ).status_code == 404

    cancelled = await client.post(f"/my/invoices/{application.application_no}/cancel", headers=htmx(client))
    assert cancelled.headers.get("HX-Redirect") == "/my/invoices?done=cancelled", cancelled.text
    page = (await client.get("/my/invoices?done=cancelled")).text
    assert "已取消发票申请" in page and "可申请" in row(page, order_no)
    again = await client.post(f"/my/invoices/{application.application_no}/cancel", headers=htmx(client))
    assert again.status_code == 422
    async with sessionmaker() as s:
        task = await s.get(ReviewTask, task_id)
        assert task is not None and task.status == "cancelled"
        assert await s.get(InvoicedOrder, order_no) is None
    assert (await apply(client, [order_no])).status_code == 204  # free to apply again


async def test_rejection_shows_the_reason_and_allows_a_new_application(
    client, trainee, sessionmaker, finance_client
) -> None:
    order_no = await paid_order(sessionmaker, trainee.id, "ECO-02")
    await apply(client, [order_no], title="错误抬头")
    application = await application_of(sessionmaker, order_no)
    task_id = await task_of(sessionmaker, application.application_no)
    async with finance_client() as fc:
        rejected = await decide(fc, task_id, False, "发票抬头应为单位全称")
        assert rejected.status_code == 200 and "已驳回" in rejected.text

    async def shows_rejected() -> str | None:
        page = (await client.get("/my/invoices")).text
        return page if "已驳回" in row(page, order_no) else None

    page = await eventually(shows_rejected)
    assert "发票抬头应为单位全称" in row(page, order_no) and 'name="order_nos"' in row(page, order_no)
    [notice] = [t for t in await notice_titles(sessionmaker, trainee.id) if application.application_no in t]
    assert notice.startswith("发票申请已驳回｜") and "驳回原因：发票抬头应为单位全称" in notice
    cancel_refused = await client.post(f"/my/invoices/{application.application_no}/cancel", headers=htmx(client))
    assert cancel_refused.status_code == 422
    assert (await apply(client, [order_no], title="湖南省某某单位")).status_code == 204
    assert "待开票" in row((await client.get("/my/invoices")).text, order_no)


class FakeRefunds:
    """The provider side of a refund (the simulator needs a real trade; this test needs none)."""

    async def refund(self, *, trade_no: str, refund_no: str, amount_cents: int) -> RefundReceipt:
        return RefundReceipt(refund_no, trade_no, amount_cents, datetime.now(UTC).isoformat())


async def test_refund_of_an_invoiced_order_records_a_red_letter_invoice(
    client, trainee, sessionmaker, finance_client, mailcatcher
) -> None:
    order_no = await paid_order(sessionmaker, trainee.id, "PUB-05", "IT-02")
    await apply(client, [order_no])
    application = await application_of(sessionmaker, order_no)
    async with finance_client() as fc:
        await decide(fc, await task_of(sessionmaker, application.application_no), True)

    async def blue() -> Invoice | None:
        async with sessionmaker() as s:
            inv = await s.scalar(select(Invoice).where(Invoice.issue_key == f"blue:{application.application_no}"))
            return inv if inv is not None and inv.emailed_at is not None else None

    original = await eventually(blue, timeout=60)
    async with sessionmaker() as s:
        trade_no = (await s.get(Order, order_no)).trade_no
    orders = OrderActivities(sessionmaker, FakeRefunds())  # type: ignore[arg-type]
    withdraw = RefundRequest(
        refund_no=f"W-{order_no}", order_no=order_no, trade_no=trade_no or "", amount_cents=3000, reason="withdraw"
    )
    await orders.refund(withdraw)
    await orders.refund(withdraw)  # a retried activity reverses once
    # a refund of another trade of the same order was never invoiced: no reversal
    await orders.refund(
        RefundRequest(
            refund_no=f"L-{order_no}",
            order_no=order_no,
            trade_no="T-other",
            amount_cents=7000,
            reason="duplicate_payment",
        )
    )
    async with sessionmaker() as s:
        reds = (await s.scalars(select(Invoice).where(Invoice.kind == "red", Invoice.order_no == order_no))).all()
    assert len(reds) == 1
    red = reds[0]
    assert red.amount_cents == -3000 and red.original_invoice_no == original.invoice_no
    assert red.invoice_no and is_valid_invoice_number(red.invoice_no) and red.invoice_no != original.invoice_no
    page = (await client.get("/my/invoices")).text
    assert "已红冲 -¥30.00" in row(page, order_no) or "已红冲 ¥-30.00" in row(page, order_no)
    assert red.invoice_no in row(page, order_no)
