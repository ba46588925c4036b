"""Phone layout: every page of the site, with data in it, fits a 390 px wide phone screen (no page is
wider than the screen), and the collapsed navigation opens from its menu button.

PHONE_SHOTS=/tmp/shots/x saves a full-page screenshot of every page at phone size and at 1280x900
(to look at; never part of the repo)."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from db.models.catalog import Chapter
from db.models.hours import HoursDeclaration, HoursRecord
from db.models.invoice_guard import InvoicedOrder
from db.models.tasks import ReviewTask
from db.models.users import Role
from tests.e2e.journeys import enter_school, open_nav
from tests.support import enter_school as client_enter_school
from tests.support import eventually, htmx, login_trainee, make_staff, make_trainee
from tests.support.certificates import issue_certificate, make_completed_enrollment
from tests.support.hours import make_enrollment, png_bytes
from tests.support.study import course_id_by_code
from tests.support.units import make_unit

pytestmark = pytest.mark.e2e

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
SIDEWAYS: dict[str, Any] = {**PHONE, "viewport": {"width": 844, "height": 390}}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
SHOTS = os.environ.get("PHONE_SHOTS")

# what overflows: the page itself, or an open dialog that sticks out of the screen
WIDTHS = """() => {
  const dlg = [...document.querySelectorAll('dialog[open]')].map((d) => d.getBoundingClientRect());
  return {
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
    screen: screen.width,
    dialogRight: Math.max(0, ...dlg.map((r) => r.right)),
    dialogLeft: Math.min(0, ...dlg.map((r) => r.left)),
  };
}"""


async def new_context(browser: Browser, live_server: str, device: dict[str, Any]) -> BrowserContext:
    context = await browser.new_context(base_url=live_server, locale="zh-CN", **device)
    context.set_default_timeout(15_000)
    return context


async def assert_fits(page: Page, name: str) -> None:
    await page.wait_for_load_state("load")
    w = await page.evaluate(WIDTHS)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"] if page.viewport_size else 0
        await page.screenshot(path=f"{SHOTS}/phone{width}-{name}.png", full_page=True)
        with open(f"{SHOTS}/widths.txt", "a") as log:
            log.write(f"{width} {name} {w}\n")
    if os.environ.get("PHONE_RECORD_ONLY"):
        return
    # a mobile browser zooms out to show a page wider than the screen (then innerWidth grows with it)
    assert w["scroll"] <= w["inner"] <= w["screen"], (
        f"{name} ({page.url}) is {w['scroll']} px wide on a {w['screen']} px screen"
    )
    assert w["dialogRight"] <= w["inner"] and w["dialogLeft"] >= 0, f"{name}: dialog sticks out {w}"


async def visit(page: Page, name: str, url: str, shown: str | None = None) -> None:
    resp = await page.goto(url)
    assert resp is not None and resp.status < 400 or name.startswith("error"), f"{url} answered {resp and resp.status}"
    if shown:
        await expect(page.locator("main")).to_contain_text(shown)
    await assert_fits(page, name)


async def browser_login(page: Page, trainee_name: str) -> None:
    """学员登录 on the phone itself: the QR page, then 模拟扫码 opens the confirm page in a new tab."""
    await page.goto("/login")
    await assert_fits(page, "login")
    href = await page.locator("#simulate-scan").get_attribute("href")
    assert href
    phone = await page.context.new_page()
    await phone.goto(href)
    await assert_fits(phone, "login-confirm")
    option = phone.locator("#user_id option", has_text=trainee_name)
    await phone.select_option("#user_id", value=await option.get_attribute("value"))
    await phone.click("text=确认登录")
    await expect(phone.locator("text=登录成功")).to_be_visible()
    await phone.close()
    await page.wait_for_url("**/portal")


async def staff_login(page: Page, username: str) -> None:
    await page.goto("/staff/login")
    await assert_fits(page, "staff-login")
    await page.fill("#username", username)
    await page.fill("#password", "Pass@1234")
    await page.click("button:has-text('登录')")
    await page.wait_for_url(re.compile(r".*/(staff/tasks|units/\w+/roster)$"))  # a unit administrator: the roster


async def hours_task(client: httpx.AsyncClient, sessionmaker, trainee_id: int) -> int:
    """A draft hours record, submitted and declared to 湖南农业大学: its review task's id."""
    day = max(date.today() - timedelta(days=3), date(date.today().year, 1, 1)).isoformat()
    form = {
        "training_name": "全省事业单位财务人员线下培训班（手机版式检查）",
        "organiser": "湖南省财政厅",
        "start_date": day,
        "end_date": day,
        "subject_category": "professional",
        "training_type": "in_post",
        "hours": "6",
    }
    files = {"evidence": ("证明.png", png_bytes(), "image/png")}
    saved = await client.post("/my/hours/records", data=form, files=files, headers=htmx(client))
    assert saved.status_code == 204, saved.text
    async with sessionmaker() as s:
        rid = await s.scalar(select(HoursRecord.id).where(HoursRecord.trainee_id == trainee_id))
    sent = await client.post(
        "/my/hours/submit", data={"record_ids": [str(rid)], "year": str(date.today().year)}, headers=htmx(client)
    )
    assert sent.status_code < 400, sent.text
    async with sessionmaker() as s:
        no = await s.scalar(
            select(HoursDeclaration.declaration_no).where(
                HoursDeclaration.trainee_id == trainee_id, HoursDeclaration.state == "pending"
            )
        )
    declared = await client.post(f"/my/hours/declarations/{no}/submit", data={"school_id": "1"}, headers=htmx(client))
    assert declared.status_code < 400, declared.text

    async def task() -> int | None:
        async with sessionmaker() as s:
            return await s.scalar(select(ReviewTask.id).where(ReviewTask.workflow_id == f"hours-{no}"))

    return await eventually(task)


async def invoice_task(sessionmaker, application_prefix: str) -> int:
    async def task() -> int | None:
        async with sessionmaker() as s:
            return await s.scalar(
                select(ReviewTask.id).where(ReviewTask.workflow_id == f"invoice-{application_prefix}")
            )

    return await eventually(task)


@pytest.mark.parametrize("device", [PHONE, SIDEWAYS], ids=["upright", "sideways"])
async def test_every_page_fits_a_phone(
    device: dict[str, Any], browser: Browser, live_server: str, client: httpx.AsyncClient, sessionmaker, settings
) -> None:
    trainee = await make_trainee(sessionmaker, "手机学员")
    # data on every page: a finished course with its certificate, a course not started yet, a pending
    # order, two courses in the cart, a personal invoice, an hours record declared to the school
    done = await make_completed_enrollment(sessionmaker, trainee, "AGR-04")
    cert = await issue_certificate(sessionmaker, settings, done.id)
    waiting = await make_enrollment(sessionmaker, trainee.id, "PUB-03", completed=False)
    await login_trainee(client, trainee)
    await client_enter_school(client)
    pending_course = await course_id_by_code(sessionmaker, "PUB-02")
    placed = await client.post(
        "/orders",
        data={"course_ids": [str(pending_course)], "training_year": str(date.today().year), "training_type": "in_post"},
        headers=htmx(client),
    )
    pending_no = re.search(
        r"/orders/([^/]+)/pay", placed.headers.get("HX-Redirect") or placed.headers.get("location", "")
    )
    assert pending_no, placed.text
    for code in ("PUB-04", "ECO-01"):
        added = await client.post(
            "/cart/items", data={"course_id": str(await course_id_by_code(sessionmaker, code))}, headers=htmx(client)
        )
        assert added.status_code == 200, added.text
    applied = await client.post(
        "/my/invoices",
        data={
            "order_nos": [done.order_no],
            "title_type": "personal",
            "title": trainee.name,
            "tax_id": "",
            "email": "phone@example.cn",
        },
        headers=htmx(client),
    )
    assert applied.status_code < 400, applied.text

    async def application_no() -> str | None:
        async with sessionmaker() as s:
            guard = await s.get(InvoicedOrder, done.order_no)
            return guard.application_no if guard else None

    app_no = await eventually(application_no)
    hours_task_id = await hours_task(client, sessionmaker, trainee.id)
    async with sessionmaker() as s:
        record_id = await s.scalar(select(HoursRecord.id).where(HoursRecord.trainee_id == trainee.id))
        chapter_id = await s.scalar(select(Chapter.id).where(Chapter.course_id == done.course_id).order_by(Chapter.seq))
    # a draft to edit (the declared one is no longer editable)
    draft = await client.post(
        "/my/hours/records",
        data={
            "training_name": "线下专题讲座",
            "organiser": "湖南省人社厅",
            "start_date": date.today().isoformat(),
            "end_date": date.today().isoformat(),
            "subject_category": "public",
            "training_type": "in_post",
            "hours": "2",
        },
        headers=htmx(client),
    )
    assert draft.status_code == 204, draft.text
    async with sessionmaker() as s:
        draft_id = await s.scalar(
            select(HoursRecord.id).where(HoursRecord.trainee_id == trainee.id, HoursRecord.id != record_id)
        )

    if SHOTS and device is PHONE:  # the same pages at desktop size, to compare with the screenshots before the change
        context = await new_context(browser, live_server, DESKTOP)
        try:
            page = await context.new_page()
            from tests.e2e.journeys import qr_login

            await page.goto("/staff/login")
            await page.screenshot(path=f"{SHOTS}/desktop-staff-login.png", full_page=True)
            await qr_login(page, trainee.name)
            await page.screenshot(path=f"{SHOTS}/desktop-portal.png", full_page=True)
            await enter_school(page)
            for name, url in [
                ("home", "/home"),
                ("courses", "/courses"),
                ("cart", "/cart"),
                ("my-courses", "/my/courses"),
                ("my-orders", "/my/orders"),
                ("order-detail", f"/orders/{done.order_no}"),
                ("certificates", "/my/certificates"),
                ("invoices", "/my/invoices"),
                ("hours", "/my/hours"),
                ("hours-records", "/my/hours/records"),
                ("study-toc", f"/study/{done.id}"),
                ("portal", "/portal"),
                ("supervision", "/supervision"),
                ("supervision-policies", "/supervision/policies"),
                ("order-pay", f"/orders/{pending_no.group(1)}/pay"),
                ("invoice-detail", f"/my/invoices/{app_no}"),
                ("hours-edit", f"/my/hours/records/{draft_id}/edit"),
                ("group-invoicing", "/my/group-invoicing"),
                ("swap", f"/my/courses/{waiting.id}/swap"),
                ("verify", f"/verify/{cert.verify_code}"),
                ("cashier", f"/cashier/{pending_no.group(1)}"),
            ]:
                await page.goto(url)
                await page.screenshot(path=f"{SHOTS}/desktop-{name}.png", full_page=True)
            await page.click("#next-step")
            await expect(page.locator("#pay-qr")).to_be_visible()
            await page.screenshot(path=f"{SHOTS}/desktop-cashier-qr.png", full_page=True)
            await page.goto(await page.locator("#simulate-pay").get_attribute("href") or "")
            await page.screenshot(path=f"{SHOTS}/desktop-paysim.png", full_page=True)
        finally:
            await context.close()

    context = await new_context(browser, live_server, device)
    try:
        page = await context.new_page()
        await browser_login(page, trainee.name)
        await assert_fits(page, "portal")
        await visit(page, "portal-training", "/portal/training", "事管培训平台")
        await visit(page, "supervision", "/supervision", "继续教育基地专区")
        await visit(page, "supervision-bases", "/supervision/bases", "湖南农业大学")
        await visit(page, "supervision-policies", "/supervision/policies", "人社部规〔2019〕4号")
        await visit(page, "error-not-found", "/courses/999999", "页面不存在")
        await page.goto("/portal")
        await enter_school(page)
        await assert_fits(page, "home")
        await visit(page, "courses", "/courses", "在线课程")
        await visit(page, "course-detail", f"/courses/{pending_course}", "课程目录")
        await visit(page, "cart", "/cart", "数字政府与公共服务创新")
        await page.check("#check-all")
        await page.click("#confirm-pay")
        await expect(page.locator("#year-type-dialog")).to_be_visible()
        await assert_fits(page, "cart-dialog")
        await visit(page, "buy-now", f"/buy/{pending_course}", "购买课程")
        await visit(page, "order-pay", f"/orders/{pending_no.group(1)}/pay", "订单支付")
        await page.click("#pay-btn")
        await assert_fits(page, "order-pay-dialog")
        await visit(page, "cashier", f"/cashier/{pending_no.group(1)}", "请选择支付方式")
        await page.click("#next-step")
        await expect(page.locator("#pay-qr")).to_be_visible()
        await assert_fits(page, "cashier-qr")
        paysim_url = await page.locator("#simulate-pay").get_attribute("href")
        assert paysim_url
        await visit(page, "paysim", paysim_url, "确认支付")
        await visit(page, "order-detail", f"/orders/{done.order_no}", "订单详情")
        await visit(page, "my-orders", "/my/orders", pending_no.group(1))
        await visit(page, "my-courses", "/my/courses", "法治政府建设与依法行政")
        await page.click(f"tr[data-enrollment-id='{waiting.id}'] .withdraw-btn")
        await assert_fits(page, "my-courses-withdraw-dialog")
        await visit(page, "swap", f"/my/courses/{waiting.id}/swap", "换课")
        await visit(page, "study-toc", f"/study/{done.id}", "课程目录")
        await visit(page, "study-player", f"/study/{done.id}/chapters/{chapter_id}", "我的课程")
        await visit(page, "certificates", "/my/certificates", cert.cert_no)
        await page.locator(f"tr[data-certificate-id='{cert.id}']").locator("text=打印学习证明").click()
        await expect(page.locator("dialog#cert-preview")).to_be_visible()
        await assert_fits(page, "certificates-preview-dialog")
        await visit(page, "certificate-preview", f"/my/certificates/{cert.id}/preview", "学习证明预览")
        await visit(page, "invoices", "/my/invoices", "我的发票")
        await page.locator(f"tr[data-order-no='{waiting.order_no}'] input[name=order_nos]").check()
        await page.click("#apply-invoice")
        await expect(page.locator("#invoice-dialog")).to_be_visible()
        await assert_fits(page, "invoices-apply-dialog")
        await visit(page, "invoice-detail", f"/my/invoices/{app_no}", app_no)
        await visit(page, "group-invoicing", "/my/group-invoicing", "集体开票")
        await visit(page, "unit-invoice", "/my/group-invoicing/unit-invoice")
        await visit(page, "unit-invoice-records", "/my/group-invoicing/records")
        await visit(page, "hours", "/my/hours", "学时登记")
        await visit(page, "hours-records", "/my/hours/records", "线下专题讲座")
        await page.click("#submit-hours")
        await expect(page.locator("#year-dialog")).to_be_visible()
        await assert_fits(page, "hours-year-dialog")
        await visit(page, "hours-new", "/my/hours/records/new")
        await visit(page, "hours-edit", f"/my/hours/records/{draft_id}/edit")
        await expect(page.locator("input[name=training_name]")).to_have_value("线下专题讲座")
        await visit(page, "error-not-found", "/my/invoices/NO-SUCH-APPLICATION")
        await visit(page, "verify", f"/verify/{cert.verify_code}", "有效")
        await visit(page, "notices", "/my/notices", "消息中心")
    except Exception:
        if not os.environ.get("PHONE_RECORD_ONLY"):  # screenshots of the layout before a change
            raise
    finally:
        await context.close()

    # staff: finance (the invoice), the school's reviewer (the hours), the platform admin (certificates)
    finance = await make_staff(sessionmaker, Role.FINANCE)
    reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id=1)
    admin = await make_staff(sessionmaker, Role.ADMIN)
    invoice_task_id = await invoice_task(sessionmaker, app_no)
    unit_code, unit_people, unit_admin = await make_unit(sessionmaker, {"达标": (50, 45), "落后": (10, 5)})
    behind_id = unit_people["落后"].id
    lead = await make_staff(sessionmaker, Role.FINANCE_LEAD)  # sees 改派 on the task finance claims below
    for who, pages in (
        (unit_admin, [("unit-roster", f"/units/{unit_code}/roster"),
                      ("unit-person", f"/units/{unit_code}/people/{behind_id}")]),
        (
            finance,
            [
                ("inbox", "/staff/tasks"),
                ("inbox-invoice", f"/staff/tasks/{invoice_task_id}"),
                ("reconciliation", "/staff/reconciliation"),
            ],
        ),
        (reviewer, [("inbox-hours", f"/staff/tasks/{hours_task_id}")]),
        (admin, [("staff-certificates", f"/staff/certificates?q={cert.cert_no}")]),
        (lead, [("inbox-lead-reassign", f"/staff/tasks/{invoice_task_id}")]),
    ):
        context = await new_context(browser, live_server, device)
        try:
            page = await context.new_page()
            await staff_login(page, who.username or "")
            for name, url in pages:
                await visit(page, name, url)
            if who is lead:
                await expect(page.locator("#reassign-form")).to_be_visible()
            if who is finance:
                # a table swapped in by htmx (the inbox's filter) is shown as cards with their labels too
                await page.goto("/staff/tasks")
                await page.select_option("select[name=kind]", "personal_invoice")
                await page.wait_for_url("**kind=personal_invoice**")
                row = page.locator("#task-list tr[data-task-id]").first
                subject = row.locator("td").first
                await expect(subject).to_have_attribute("data-label", "主题")
                label = await subject.evaluate("(td) => getComputedStyle(td, '::before').content")
                assert label == '"主题"', label
                await expect(page.locator("#task-list thead th", has_text="提交人")).to_be_hidden()
                await assert_fits(page, "inbox-filtered")
                # 常用筛选 and the bulk bar of a list filtered to one kind
                await expect(page.locator("#bulk-form")).to_be_visible()
                await page.fill("input[name=filter_name]", "手机上的常用筛选")
                await page.click("#save-filter-form button")
                await expect(page.locator(".saved-filter")).to_contain_text("手机上的常用筛选")
                await assert_fits(page, "inbox-saved-filter")
                # 领取, then 驳回 asks for confirmation in a dialog
                await page.goto(f"/staff/tasks/{invoice_task_id}")
                await page.click("#claim-btn")
                await page.fill("#reason", "发票抬头与单位名称不一致")
                await page.click("#reject-btn")
                await expect(page.locator("#reject-dialog")).to_be_visible()
                await assert_fits(page, "inbox-reject-dialog")
        finally:
            await context.close()


async def test_navigation_opens_from_the_menu_button(browser: Browser, live_server: str, sessionmaker) -> None:
    trainee = await make_trainee(sessionmaker, "菜单学员")
    context = await new_context(browser, live_server, PHONE)
    try:
        page = await context.new_page()
        await browser_login(page, trainee.name)
        await enter_school(page)
        nav_link = page.locator("nav.mainnav >> text=在线课程")
        await expect(nav_link).to_be_hidden()  # collapsed: the header holds one row
        toggle = page.locator("#nav-toggle")
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await toggle.tap()
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        await expect(nav_link).to_be_visible()
        box = await nav_link.bounding_box()
        assert box and box["height"] >= 40, f"menu entry too small to tap: {box}"
        await assert_fits(page, "nav-open")
        await toggle.tap()
        await expect(nav_link).to_be_hidden()
        await open_nav(page)
        await nav_link.tap()
        await page.wait_for_url("**/courses")
        await expect(page.locator("h2", has_text="在线课程")).to_be_visible()
        # htmx still works from the collapsed header: the cart badge follows 加入购物车
        dot = "getComputedStyle(document.getElementById('nav-toggle'), '::after').content"
        assert await page.evaluate(dot) == "none"
        await page.locator(".course-card").first.locator("text=加入购物车").tap()
        await expect(page.locator("#nav-cart .badge")).to_have_text("1")
        assert await page.evaluate(dot) != "none", "the closed menu does not show that the cart holds a course"
    finally:
        await context.close()


# ---- 课程管理 (course administrators) and its inbox task -------------------------------------------


@pytest.mark.parametrize("device", [PHONE, SIDEWAYS], ids=["upright", "sideways"])
async def test_course_administration_pages_fit_a_phone(
    device: dict[str, Any], browser: Browser, live_server: str, app, sessionmaker, settings, tmp_path
) -> None:
    from tests.support import staff_client
    from tests.support.courses import clip_bytes, create_course, open_task_for, upload_chapter

    course_admin = await make_staff(sessionmaker, Role.COURSE_ADMIN, school_id=1)
    admin = await make_staff(sessionmaker, Role.ADMIN)
    old = (settings.course_minutes_per_hour, settings.course_hours_tolerance_minutes)
    settings.course_minutes_per_hour, settings.course_hours_tolerance_minutes = 0.1, 1 / 60
    try:
        async with staff_client(app, course_admin) as c:
            long_title = "手机版课程管理演示（一个很长的课程名称）"
            draft = await create_course(c, sessionmaker, hours="0.5", course_title=long_title)
            for title in ("第1讲 导论", "第2讲 核心概念与政策解读"):
                assert (await upload_chapter(c, draft, clip_bytes(tmp_path, 2), title=title)).status_code == 200
            submitted = await create_course(c, sessionmaker, hours="0.5", course_title="手机版审核中课程")
            assert (await upload_chapter(c, submitted, clip_bytes(tmp_path, 3))).status_code == 200
            assert (await c.post(f"/staff/courses/{submitted}/submit", headers=htmx(c))).status_code == 204
    finally:
        settings.course_minutes_per_hour, settings.course_hours_tolerance_minutes = old
    task = await open_task_for(sessionmaker, submitted)

    context = await new_context(browser, live_server, device)
    try:
        page = await context.new_page()
        await page.goto("/staff/login")
        await page.fill("#username", course_admin.username or "")
        await page.fill("#password", "Pass@1234")
        await page.click("button:has-text('登录')")
        await page.wait_for_url("**/staff/courses")
        await assert_fits(page, "staff-courses")
        await open_nav(page)
        await expect(page.locator("nav.mainnav")).to_contain_text("课程管理")
        await visit(page, "staff-course-new", "/staff/courses/new", "新建课程")
        await visit(page, "staff-course-edit", f"/staff/courses/{draft}", "第2讲 核心概念与政策解读")
        await visit(page, "staff-course-under-review", f"/staff/courses/{submitted}", "该版本正在审核中")
        await page.click("#user-menu")
        await page.click("text=退出登录")

        await page.goto("/staff/login")
        await page.fill("#username", admin.username or "")
        await page.fill("#password", "Pass@1234")
        await page.click("button:has-text('登录')")
        await page.wait_for_url("**/staff/tasks")
        await visit(page, "inbox-course-publication", f"/staff/tasks/{task.id}", "章节目录")
    finally:
        await context.close()
