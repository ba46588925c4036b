"""Every htmx request of the trainee site, made the way the browser makes it: the `HX-Request` header,
and the answer checked for the fragment that gets swapped (not a whole page, not an error).

`test_every_hx_endpoint_of_the_trainee_site_is_covered` reads every `hx-get` / `hx-post` /
`hx-delete` of web/templates and fails when one has no entry in COVERED (so a new fragment endpoint
cannot go untested here). Staff pages (inbox, certificate revocation) are outside the trainee site.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, select

from db.models.catalog import Course
from db.models.hours import HoursRecord
from db.models.orders import Enrollment
from db.models.study import ActiveStudy
from db.models.users import Role
from domain.credit_code import make_credit_code
from tests.api.test_purchase import checkout, course_ids
from tests.support import enter_school, htmx, login_trainee, make_staff, make_trainee, staff_client
from tests.support.certificates import issue_certificate, make_completed_enrollment
from tests.support.hours import make_enrollment
from tests.support.invoicing import decide, paid_order, png_bytes, task_of, unique_unit, unit_member
from tests.support.study import buy
from workflows.unit_qualification import qualification_workflow_id

pytestmark = pytest.mark.usefixtures("live_server")
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
STAFF_TEMPLATES = ("inbox/", "certificates/staff.html")
YEAR = date.today().year

# (method, URL pattern with {{ … }} as *) -> the test below that calls it as htmx does
COVERED = {
    ("get", "/courses"): "test_course_filters_and_search_swap_the_results",
    ("post", "/cart/items"): "test_cart_add_count_and_remove",
    ("get", "/cart/count"): "test_cart_add_count_and_remove",
    ("delete", "/cart/items/*"): "test_cart_add_count_and_remove",
    ("get", "/login/poll/*"): "test_login_poll_swaps_the_qr_state",
    ("post", "/orders"): "test_checkout_cashier_qr_status_and_cancel",
    ("post", "/cashier/*/next"): "test_checkout_cashier_qr_status_and_cancel",
    ("get", "/orders/*/status"): "test_checkout_cashier_qr_status_and_cancel",
    ("post", "/orders/*/cancel"): "test_checkout_cashier_qr_status_and_cancel",
    ("post", "/paysim/scan/*/pay"): "test_checkout_cashier_qr_status_and_cancel",
    ("post", "/my/courses/*/swap"): "test_swap_answers_with_a_redirect",
    ("get", "/my/certificates"): "test_certificate_list_and_preview",
    ("get", "/my/certificates/*/preview"): "test_certificate_list_and_preview",
    ("post", "/my/invoices"): "test_invoice_apply_and_cancel",
    ("post", "/my/invoices/*/cancel"): "test_invoice_apply_and_cancel",
    ("post", "/my/hours/records"): "test_hours_record_save_edit_submit_withdraw_delete",
    ("post", "/my/hours/records/*"): "test_hours_record_save_edit_submit_withdraw_delete",
    ("post", "/my/hours/records/*/delete"): "test_hours_record_save_edit_submit_withdraw_delete",
    ("post", "/my/hours/records/*/withdraw"): "test_hours_record_save_edit_submit_withdraw_delete",
    ("post", "/my/hours/submit"): "test_hours_record_save_edit_submit_withdraw_delete",
    ("post", "/my/hours/declarations/*/submit"): "test_hours_record_save_edit_submit_withdraw_delete",
    ("get", "/my/courses"): "test_my_courses_list_start_and_withdraw",
    ("get", "/study/*/start"): "test_my_courses_list_start_and_withdraw",
    ("post", "/my/courses/*/withdraw"): "test_my_courses_list_start_and_withdraw",
    ("post", "/my/group-invoicing/qualification"): "test_unit_qualification_then_unit_invoice_query_and_apply",
    ("get", "/my/group-invoicing/unit-invoice"): "test_unit_qualification_then_unit_invoice_query_and_apply",
    ("post", "/my/group-invoicing/unit-invoices"): "test_unit_qualification_then_unit_invoice_query_and_apply",
    ("get", "/my/notices/count"): "test_notice_badge_mark_read_and_read_all",
    ("post", "/my/notices/*/read"): "test_notice_badge_mark_read_and_read_all",
    ("post", "/my/notices/read-all"): "test_notice_badge_mark_read_and_read_all",
    ("get", "/units/*/roster"): "test_unit_roster_filter_swaps_the_roster",
}

# Endpoints not tested here yet (none left: keep it empty so that every fragment has its test).
NOT_YET: set[tuple[str, str]] = set()

HX_ATTR = re.compile(r'hx-(get|post|delete)="([^"]+)"')


def _pattern(url: str) -> str:
    url = re.sub(r"\{\{.*?\}\}", "*", url).split("?")[0]
    # {{ '/a/%d' % x if x else '/a' }}: both branches are requests the page makes
    return url


def template_endpoints() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in TEMPLATES.rglob("*.html"):
        rel = path.relative_to(TEMPLATES).as_posix()
        if rel.startswith(STAFF_TEMPLATES):
            continue
        text = path.read_text()
        for method, url in HX_ATTR.findall(text):
            if url.startswith("{{") and " if " in url:  # the hours form posts to a new or an existing record
                found.add((method, "/my/hours/records"))
                found.add((method, "/my/hours/records/*"))
                continue
            if not url.startswith("/staff/"):  # base.html's inbox badge is for staff only
                found.add((method, _pattern(url)))
    return found


def test_every_hx_endpoint_of_the_trainee_site_is_covered() -> None:
    endpoints = template_endpoints()
    assert ("get", "/courses") in endpoints  # the scan reads the templates
    missing = sorted(endpoints - COVERED.keys() - NOT_YET)
    assert not missing, f"htmx endpoints without a fragment test here: {missing}"
    names = {name for name in COVERED.values()}
    assert names <= set(globals()), names - set(globals())


def is_fragment(resp: httpx.Response) -> bool:
    return resp.status_code < 300 and "<html" not in resp.text and "<body" not in resp.text


@pytest.fixture
async def trainee(client: httpx.AsyncClient, sessionmaker):
    user = await make_trainee(sessionmaker, "片段")
    await login_trainee(client, user)
    await enter_school(client)
    client.user = user  # type: ignore[attr-defined]
    return client


async def test_course_filters_and_search_swap_the_results(trainee, sessionmaker) -> None:
    client = trainee
    async with sessionmaker() as s:
        course = await s.scalar(select(Course).where(Course.code == "AGR-01", Course.school_id == 1))
    assert course is not None
    queries = [
        {"q": course.title},
        {"major": str(course.major_id)},
        {"category": str(course.category_id)},
        {"subject": course.subject_category},
        {"hours": f"{course.hours.normalize():f}"},
        {"category": "", "major": "", "subject": "", "hours": "", "q": ""},  # 查询 with nothing chosen
    ]
    for params in queries:
        resp = await client.get("/courses", params=params, headers=htmx(client))
        assert resp.status_code == 200, (params, resp.text[:500])
        assert is_fragment(resp), params
        assert 'class="course-grid"' in resp.text and course.title in resp.text, params
    nothing = await client.get("/courses", params={"q": "没有这样的课程名"}, headers=htmx(client))
    assert is_fragment(nothing) and "没有符合条件的课程" in nothing.text


async def test_cart_add_count_and_remove(trainee, sessionmaker) -> None:
    client = trainee
    [cid] = await course_ids(sessionmaker, "PUB-02")
    added = await client.post("/cart/items", data={"course_id": str(cid)}, headers=htmx(client))
    assert is_fragment(added) and f'id="cart-btn-{cid}"' in added.text and "去购物车" in added.text
    assert added.headers.get("HX-Trigger") == "cartChanged"
    count = await client.get("/cart/count", headers=htmx(client))
    assert count.status_code == 200 and count.text.strip() == "1"
    removed = await client.request("DELETE", f"/cart/items/{cid}", headers=htmx(client))
    assert removed.status_code == 200 and removed.headers.get("HX-Refresh") == "true"
    assert (await client.get("/cart/count", headers=htmx(client))).text.strip() == ""


async def test_login_poll_swaps_the_qr_state(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    token = re.search(r"/login/poll/([\w-]+)", page.text)
    assert token, page.text
    poll = await client.get(f"/login/poll/{token.group(1)}", headers={"HX-Request": "true"})
    assert is_fragment(poll)
    assert "<form" not in poll.text and "portal" not in poll.text.lower() or poll.text.strip()


async def test_checkout_cashier_qr_status_and_cancel(trainee, sessionmaker) -> None:
    client = trainee
    [first, second] = await course_ids(sessionmaker, "PUB-05", "IT-01")
    resp = await checkout(client, [first])
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].endswith("/pay")
    order_no = resp.headers["HX-Redirect"].split("/")[2]

    card = await client.post(f"/cashier/{order_no}/next", data={"channel": "wechat"}, headers=htmx(client))
    assert is_fragment(card) and 'id="cashier"' in card.text and 'id="pay-qr"' in card.text
    status = await client.get(f"/orders/{order_no}/status", params={"wait": 0.1}, headers=htmx(client))
    assert is_fragment(status) and "等待支付结果" in status.text

    trade_no = re.search(r"/paysim/scan/(\w+)", card.text)
    assert trade_no
    phone = await client.post(f"/paysim/scan/{trade_no.group(1)}/pay", headers=htmx(client))
    assert is_fragment(phone) and 'id="paysim-screen"' in phone.text and "支付成功" in phone.text
    paid = await client.get(f"/orders/{order_no}/status", params={"wait": 10}, headers=htmx(client))
    assert paid.status_code == 204 and paid.headers.get("HX-Redirect") == "/my/courses"

    other = await checkout(client, [second])
    other_no = other.headers["HX-Redirect"].split("/")[2]
    cancelled = await client.post(f"/orders/{other_no}/cancel", headers=htmx(client))
    assert cancelled.status_code == 204 and cancelled.headers.get("HX-Redirect") == f"/orders/{other_no}"
    closed = await client.get(f"/orders/{other_no}/status", headers=htmx(client))
    assert closed.status_code < 300 and "已取消" in closed.text and "<html" not in closed.text


async def test_swap_answers_with_a_redirect(trainee, sessionmaker) -> None:
    client = trainee
    enrollment = await make_enrollment(sessionmaker, client.user.id, "PUB-01", completed=False)
    swap_page = await client.get(f"/my/courses/{enrollment.id}/swap")
    target = re.search(r'hx-vals=\'\{"course_id": (\d+)\}\'', swap_page.text)
    assert target, "no course to swap to"
    swapped = await client.post(
        f"/my/courses/{enrollment.id}/swap", data={"course_id": target.group(1)}, headers=htmx(client)
    )
    assert swapped.status_code == 204, swapped.text
    assert swapped.headers.get("HX-Redirect") == "/my/courses?notice=swapped"


async def test_certificate_list_and_preview(trainee, sessionmaker, settings) -> None:
    client = trainee
    enrollment = await make_completed_enrollment(sessionmaker, client.user, "PUB-04")
    cert = await issue_certificate(sessionmaker, settings, enrollment.id)
    # the list re-reads itself (hx-select="#cert-list") while a certificate is being made
    listed = await client.get("/my/certificates?page=1", headers=htmx(client))
    assert listed.status_code == 200 and 'id="cert-list"' in listed.text and cert.cert_no in listed.text
    preview = await client.get(f"/my/certificates/{cert.id}/preview", headers=htmx(client))
    assert is_fragment(preview) and cert.cert_no in preview.text and "打印" in preview.text


async def test_invoice_apply_and_cancel(trainee, sessionmaker) -> None:
    client = trainee
    order_no = await paid_order(sessionmaker, client.user.id, "PUB-03")
    data = {"order_nos": [order_no], "title_type": "personal", "title": "片段测试", "tax_id": "",
            "email": "fragment@example.cn"}
    applied = await client.post("/my/invoices", data=data, headers=htmx(client))
    assert applied.status_code == 204, applied.text
    assert applied.headers.get("HX-Redirect") == "/my/invoices?done=applied"
    listed = await client.get("/my/invoices?done=applied", headers=htmx(client))
    assert is_fragment(listed) and order_no in listed.text
    app_no = re.search(r"/my/invoices/([\w-]+)/cancel", listed.text)
    assert app_no, listed.text
    cancelled = await client.post(f"/my/invoices/{app_no.group(1)}/cancel", headers=htmx(client))
    assert cancelled.status_code == 204 and cancelled.headers.get("HX-Redirect") == "/my/invoices?done=cancelled"


async def test_hours_record_save_edit_submit_withdraw_delete(trainee, sessionmaker) -> None:
    client = trainee
    day = (date.today() - timedelta(days=3)).isoformat()
    form = {"training_name": "片段测试线下培训", "organiser": "湖南省人社厅", "start_date": day, "end_date": day,
            "subject_category": "professional", "training_type": "in_post", "hours": "4"}

    async def records() -> list[HoursRecord]:
        async with sessionmaker() as s:
            rows = await s.scalars(select(HoursRecord).where(HoursRecord.trainee_id == client.user.id))
            return list(rows.all())

    saved = await client.post("/my/hours/records", data=form, headers=htmx(client))
    assert saved.status_code == 204 and saved.headers.get("HX-Redirect") == "/my/hours/records?done=saved"
    [record] = await records()
    edited = await client.post(f"/my/hours/records/{record.id}", data={**form, "hours": "5"}, headers=htmx(client))
    assert edited.status_code == 204 and edited.headers.get("HX-Redirect") == "/my/hours/records?done=saved"
    submitted = await client.post(
        "/my/hours/submit", data={"record_ids": [str(record.id)], "year": str(YEAR)}, headers=htmx(client)
    )
    assert submitted.status_code == 204 and submitted.headers.get("HX-Redirect") == "/my/hours/records?done=hours"
    withdrawn = await client.post(f"/my/hours/records/{record.id}/withdraw", headers=htmx(client))
    assert withdrawn.status_code == 204 and "done=withdrawn" in withdrawn.headers.get("HX-Redirect", "")
    deleted = await client.post(f"/my/hours/records/{record.id}/delete", headers=htmx(client))
    assert deleted.status_code == 204 and "done=deleted" in deleted.headers.get("HX-Redirect", "")
    assert await records() == []

    await client.post("/my/hours/records", data=form, headers=htmx(client))
    [again] = await records()
    await client.post("/my/hours/submit", data={"record_ids": [str(again.id)], "year": str(YEAR)}, headers=htmx(client))
    page = await client.get("/my/hours/records")
    no = re.search(r"/my/hours/declarations/([\w-]+)/submit", page.text)
    assert no, "no pending declaration to submit"
    declared = await client.post(
        f"/my/hours/declarations/{no.group(1)}/submit", data={"school_id": "1"}, headers=htmx(client)
    )
    assert declared.status_code == 204, declared.text
    assert declared.headers.get("HX-Redirect") == "/my/hours/records?done=declared"


def test_no_fragment_endpoint_is_left_untested() -> None:
    assert not NOT_YET, NOT_YET


async def test_my_courses_list_start_and_withdraw(trainee, sessionmaker) -> None:
    client = trainee
    first, second = await buy(client, sessionmaker, "PUB-02", "PUB-03")
    titles = {eid: await _title(sessionmaker, eid) for eid in (first, second)}

    # #my-course-list re-reads itself on enrollmentChanged: the block "list" alone, with both courses
    listed = await client.get("/my/courses", headers=htmx(client))
    assert is_fragment(listed) and 'class="list"' in listed.text
    assert f'data-enrollment-id="{first}"' in listed.text and f'data-enrollment-id="{second}"' in listed.text

    # 开始学习 goes on to the table of contents ...
    started = await client.get(f"/study/{first}/start", headers=htmx(client))
    assert started.status_code == 204 and started.headers.get("HX-Redirect") == f"/study/{first}"
    # ... and is refused in the page's message area while another course holds the one-course slot
    async with sessionmaker() as s:
        s.add(ActiveStudy(trainee_id=client.user.id, enrollment_id=first))
        await s.commit()
    refused = await client.get(f"/study/{second}/start", headers=htmx(client))
    assert refused.status_code == 422 and refused.headers.get("HX-Retarget") == "#flash"
    assert "需在一个课程全部学完后" in refused.text and "<html" not in refused.text
    async with sessionmaker() as s:
        await s.execute(delete(ActiveStudy).where(ActiveStudy.trainee_id == client.user.id))
        await s.commit()

    # 退课 → 确定: the browser is sent to 我的课程, which no longer lists the course and says why
    withdrawn = await client.post(f"/my/courses/{second}/withdraw", headers=htmx(client))
    assert withdrawn.status_code == 204 and withdrawn.headers.get("HX-Redirect") == "/my/courses?notice=withdrawn"
    after = await client.get(withdrawn.headers["HX-Redirect"])
    assert "退课成功" in after.text and titles[second] not in after.text and titles[first] in after.text
    relisted = await client.get("/my/courses", headers=htmx(client))
    assert f'data-enrollment-id="{second}"' not in relisted.text and f'data-enrollment-id="{first}"' in relisted.text


async def _title(maker, enrollment_id: int) -> str:
    async with maker() as s:
        enrollment = await s.get(Enrollment, enrollment_id)
        assert enrollment is not None
        course = await s.get(Course, enrollment.course_id)
        assert course is not None
        return course.title


async def test_unit_qualification_then_unit_invoice_query_and_apply(client, sessionmaker, app) -> None:
    unit = unique_unit("片段单位")
    applicant = await unit_member(sessionmaker, unit, "片段经办人")
    order_no = await paid_order(sessionmaker, applicant.id, "PUB-02")
    await login_trainee(client, applicant)
    await enter_school(client)

    # 提交审核 (multipart, hx-target="#flash"): a refusal is swapped into the message area ...
    code = make_credit_code("124300009Q" + f"{secrets.randbelow(10**7):07d}")
    bad = await client.post(
        "/my/group-invoicing/qualification",
        data={"unit_name": unit, "tax_id": "1243"},
        files={"authorization": ("委托书.png", png_bytes(), "image/png")},
        headers=htmx(client),
    )
    assert bad.status_code == 422 and bad.headers.get("HX-Retarget") == "#flash" and "单位识别号" in bad.text
    # ... a good one sends the browser to the page that now says 审核中
    sent = await client.post(
        "/my/group-invoicing/qualification",
        data={"unit_name": unit, "tax_id": code},
        files={"authorization": ("委托书.png", png_bytes(), "image/png")},
        headers=htmx(client),
    )
    assert sent.status_code == 204 and sent.headers.get("HX-Redirect") == "/my/group-invoicing"
    assert "审核中" in (await client.get("/my/group-invoicing")).text
    task = await task_of(sessionmaker, qualification_workflow_id(code, 1))
    admin = await make_staff(sessionmaker, Role.ADMIN)
    async with staff_client(app, admin) as staff:
        assert (await decide(staff, task.id, approve=True)).status_code == 200

    # 查询 (hx-target="#records"): the block "records" alone, listing the unit's paid order
    query = await client.get(
        "/my/group-invoicing/unit-invoice", params={"unit_name": unit, "year": YEAR}, headers=htmx(client)
    )
    assert is_fragment(query) and 'id="apply-form"' in query.text and order_no in query.text
    assert 'id="record-query"' not in query.text  # the query form stays; only the records are swapped

    # 申请开票 → 确定 (hx-target="#flash"): on to 开票记录, where the application is 待开票
    applied = await client.post(
        "/my/group-invoicing/unit-invoices",
        data={"unit_name": unit, "year": str(YEAR), "order_nos": [order_no], "email": "pianduan@example.cn"},
        headers=htmx(client),
    )
    assert applied.status_code == 204 and applied.headers.get("HX-Redirect") == "/my/group-invoicing/records"
    records = await client.get("/my/group-invoicing/records")
    assert "待开票" in records.text and unit in records.text
    again = await client.get(
        "/my/group-invoicing/unit-invoice", params={"unit_name": unit, "year": YEAR}, headers=htmx(client)
    )
    assert is_fragment(again) and order_no not in again.text and "没有待申请开票的记录" in again.text
async def test_notice_badge_mark_read_and_read_all(trainee, sessionmaker) -> None:
    from db.notices import add_notice
    from domain.notices import order_closed, payment_confirmed

    client = trainee
    async with sessionmaker() as s:
        await add_notice(s, payment_confirmed(client.user.id, "HX1", 100))
        await add_notice(s, order_closed(client.user.id, "HX2"))
        await s.commit()
    badge = await client.get("/my/notices/count", headers=htmx(client))
    assert is_fragment(badge) and badge.text == "2"
    page = await client.get("/my/notices")
    notice_id = re.search(r'hx-post="/my/notices/(\d+)/read"', page.text).group(1)  # type: ignore[union-attr]
    read = await client.post(f"/my/notices/{notice_id}/read", data={"page": "1"}, headers=htmx(client))
    assert is_fragment(read) and 'id="notices-unread">1<' in read.text
    assert read.headers["HX-Trigger"] == "noticeChanged"  # the header badge listens for it
    rest = await client.post("/my/notices/read-all", data={"page": "1"}, headers=htmx(client))
    assert is_fragment(rest) and 'id="notices-unread">0<' in rest.text and "全部标为已读" not in rest.text
    assert (await client.get("/my/notices/count", headers=htmx(client))).text == ""


async def test_unit_roster_filter_swaps_the_roster(app, sessionmaker) -> None:
    from tests.support import staff_client
    from tests.support.units import PASSWORD, make_unit

    code, people, admin = await make_unit(sessionmaker, {"甲": (90, 0), "乙": (0, 0)})
    async with staff_client(app, admin, PASSWORD) as c:
        resp = await c.get(f"/units/{code}/roster", params={"year": YEAR, "behind": "1"}, headers=htmx(c))
    assert is_fragment(resp) and 'id="roster"' in resp.text
    assert people["乙"].name in resp.text and people["甲"].name not in resp.text
