"""单位开票 through HTTP: the query of an approved unit's records, 申请开票, finance issues or rejects,
and every refusal, with nothing half-written."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from db.models.invoice_guard import InvoicedOrder
from db.models.invoices import Invoice
from db.models.unit_invoice import UnitInvoiceApplication
from db.models.users import Role
from tests.api.test_unit_qualification import approved_unit, trainee_client
from tests.support import eventually, htmx, make_staff, make_trainee, staff_client
from tests.support.invoicing import decide, mail_catcher, mails_to, paid_order, task_of, unique_unit, unit_member

YEAR = date.today().year


async def test_unit_invoice_needs_an_approved_unit(client, sessionmaker) -> None:
    unit = unique_unit()
    user = await unit_member(sessionmaker, unit)
    order_no = await paid_order(sessionmaker, user.id, "PUB-02")
    await trainee_client(client, user)
    page = await client.get("/my/group-invoicing/unit-invoice")
    assert "单位尚未通过集体开票审核" in page.text
    query = await client.get(
        "/my/group-invoicing/unit-invoice", params={"unit_name": unit, "year": YEAR}, headers=htmx(client)
    )
    assert query.status_code == 422 and "单位尚未通过集体开票审核" in query.text
    apply = await client.post(
        "/my/group-invoicing/unit-invoices",
        data={"unit_name": unit, "year": str(YEAR), "order_nos": [order_no], "email": "a@example.cn"},
        headers=htmx(client),
    )
    assert apply.status_code == 422 and "单位尚未通过集体开票审核" in apply.text
    async with sessionmaker() as s:
        assert await s.get(InvoicedOrder, order_no) is None


async def test_unit_invoice_from_query_to_issued(client, sessionmaker, settings, app) -> None:
    unit = unique_unit("湖南省某某医院")
    applicant = await unit_member(sessionmaker, unit, "经办人")
    colleague = await unit_member(sessionmaker, unit, "同事")
    outsider = await unit_member(sessionmaker, unique_unit(), "外单位")
    mine = await paid_order(sessionmaker, applicant.id, "PUB-02", "AGR-01")  # ¥120
    theirs = await paid_order(sessionmaker, colleague.id, "PUB-03", refunded_cents=1000)  # ¥40 - ¥10
    last_year = await paid_order(sessionmaker, colleague.id, "PUB-04", year=YEAR - 1)
    refunded = await paid_order(sessionmaker, colleague.id, "PUB-05", refunded_cents=3000)  # all of it
    personal = await paid_order(sessionmaker, colleague.id, "IT-01")
    other_unit = await paid_order(sessionmaker, outsider.id, "IT-02")
    async with sessionmaker() as s:  # the colleague invoiced this order personally
        s.add(InvoicedOrder(order_no=personal, kind="personal", application_no="P-test"))
        await s.commit()

    await trainee_client(client, applicant)
    code = await approved_unit(app, client, sessionmaker, settings, unit)
    page = await client.get("/my/group-invoicing/unit-invoice")
    assert f'value="{unit}"' in page.text  # the approved unit is filled in

    query = await client.get(
        "/my/group-invoicing/unit-invoice", params={"unit_name": unit, "year": YEAR}, headers=htmx(client)
    )
    assert query.status_code == 200
    for shown in (mine, theirs):
        assert shown in query.text
    for hidden in (last_year, refunded, personal, other_unit):
        assert hidden not in query.text
    assert "¥30.00" in query.text  # what was paid and not refunded
    by_name = await client.get(
        "/my/group-invoicing/unit-invoice",
        params={"unit_name": unit, "year": YEAR, "name": "同事", "phone": colleague.phone},
        headers=htmx(client),
    )
    assert theirs in by_name.text and mine not in by_name.text
    earlier = await client.get(
        "/my/group-invoicing/unit-invoice", params={"unit_name": unit, "year": YEAR - 1}, headers=htmx(client)
    )
    assert last_year in earlier.text

    email = f"caiwu-{code[-6:].lower()}@example.cn"
    apply = await client.post(
        "/my/group-invoicing/unit-invoices",
        # an amount in the form is ignored: the amount is the sum of the ticked records
        data={"unit_name": unit, "year": str(YEAR), "order_nos": [mine, theirs], "email": email, "amount": "1"},
        headers=htmx(client),
    )
    assert apply.status_code == 204, apply.text
    assert apply.headers["HX-Redirect"] == "/my/group-invoicing/records"
    records = await client.get("/my/group-invoicing/records")
    assert "待开票" in records.text and "¥150.00" in records.text and unit in records.text
    async with sessionmaker() as s:
        application = await s.scalar(select(UnitInvoiceApplication).where(UnitInvoiceApplication.email == email))
        assert application is not None
        assert (application.amount_cents, application.tax_id, application.unit_name) == (15000, code, unit)

    # double invoicing: the same order again (unit or personal) is refused, and it left the query
    again = await client.post(
        "/my/group-invoicing/unit-invoices",
        data={"unit_name": unit, "year": str(YEAR), "order_nos": [mine], "email": email},
        headers=htmx(client),
    )
    assert again.status_code == 422 and "所选订单已申请或已开具发票" in again.text
    query = await client.get(
        "/my/group-invoicing/unit-invoice", params={"unit_name": unit, "year": YEAR}, headers=htmx(client)
    )
    assert mine not in query.text and "没有待申请开票的记录" in query.text

    task = await task_of(sessionmaker, f"unit-invoice-{application.application_no}")
    assert (task.kind, task.queue) == ("unit_invoice", "finance")
    admin = await make_staff(sessionmaker, Role.ADMIN)
    async with staff_client(app, admin) as staff:  # the admin's queue is not finance's
        assert (await staff.post(f"/staff/tasks/{task.id}/claim", headers=htmx(staff))).status_code == 403
    finance = await make_staff(sessionmaker, Role.FINANCE)
    async with mail_catcher(settings) as mail_url, staff_client(app, finance) as staff:
        detail = await staff.get(f"/staff/tasks/{task.id}")
        assert mine in detail.text and theirs in detail.text and email in detail.text
        assert (await decide(staff, task.id, approve=True)).status_code == 200

        records = await client.get("/my/group-invoicing/records")
        assert "已开票" in records.text
        async with sessionmaker() as s:
            issued = await s.get(UnitInvoiceApplication, application.application_no)
            invoice = await s.scalar(select(Invoice).where(Invoice.invoice_no == issued.invoice_no))
        assert issued is not None and issued.invoice_no and issued.invoice_no in records.text
        assert invoice is not None and (invoice.source, invoice.amount_cents) == ("unit", 15000)
        pdf = await client.get(f"/my/group-invoicing/records/{application.application_no}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        [mail] = await eventually(lambda: mails_to(mail_url, email))
        assert issued.invoice_no in mail["subject"]
        assert mail["attachments"][0]["content_type"] == "application/pdf"
    notices = (await client.get("/my/notices")).text  # 消息中心: the applicant was told
    assert "发票已开具" in notices and f"发票号码 {issued.invoice_no}" in notices


async def test_rejected_unit_invoice_frees_the_orders(client, sessionmaker, settings, app) -> None:
    unit = unique_unit()
    applicant = await unit_member(sessionmaker, unit)
    order_no = await paid_order(sessionmaker, applicant.id, "ECO-01")
    await trainee_client(client, applicant)
    await approved_unit(app, client, sessionmaker, settings, unit)
    apply = await client.post(
        "/my/group-invoicing/unit-invoices",
        data={"unit_name": unit, "year": str(YEAR), "order_nos": [order_no], "email": "r@example.cn"},
        headers=htmx(client),
    )
    assert apply.status_code == 204, apply.text
    async with sessionmaker() as s:
        application = await s.scalar(
            select(UnitInvoiceApplication).where(UnitInvoiceApplication.applicant_id == applicant.id)
        )
    assert application is not None
    task = await task_of(sessionmaker, f"unit-invoice-{application.application_no}")
    finance = await make_staff(sessionmaker, Role.FINANCE)
    async with staff_client(app, finance) as staff:
        assert (await decide(staff, task.id, approve=False, reason="邮箱不是单位邮箱")).status_code == 200
    records = await client.get("/my/group-invoicing/records")
    assert "已驳回" in records.text and "邮箱不是单位邮箱" in records.text
    notices = (await client.get("/my/notices")).text
    assert "发票申请已驳回" in notices and "驳回原因：邮箱不是单位邮箱" in notices
    query = await client.get(
        "/my/group-invoicing/unit-invoice", params={"unit_name": unit, "year": YEAR}, headers=htmx(client)
    )
    assert order_no in query.text  # free to be invoiced again


async def test_unit_invoice_refusals(client, sessionmaker, settings, app) -> None:
    unit = unique_unit()
    applicant = await unit_member(sessionmaker, unit)
    order_no = await paid_order(sessionmaker, applicant.id, "ECO-02")
    stranger = await paid_order(sessionmaker, (await make_trainee(sessionmaker)).id, "ECO-03")
    await trainee_client(client, applicant)
    await approved_unit(app, client, sessionmaker, settings, unit)
    cases: list[tuple[dict[str, str | list[str]], str]] = [
        ({"order_nos": []}, "请勾选需要申请开票的记录"),
        ({"order_nos": [order_no], "email": "不是邮箱"}, "请填写正确的电子邮箱"),
        ({"order_nos": [stranger]}, "所选订单不可开票"),  # another unit's order
        ({"order_nos": [order_no], "unit_name": "别的单位"}, "单位尚未通过集体开票审核"),
        ({"order_nos": [order_no], "year": ""}, "请选择年份"),
    ]
    for change, message in cases:
        data: dict[str, str | list[str]] = {"unit_name": unit, "year": str(YEAR), "email": "ok@example.cn", **change}
        resp = await client.post("/my/group-invoicing/unit-invoices", data=data, headers=htmx(client))
        assert resp.status_code == 422 and message in resp.text, (change, resp.text)
    async with sessionmaker() as s:
        count = await s.scalar(
            select(func.count())
            .select_from(UnitInvoiceApplication)
            .where(UnitInvoiceApplication.applicant_id == applicant.id)
        )
        assert count == 0
        assert await s.get(InvoicedOrder, order_no) is None
