"""Browser journey of 个人发票: 支付中心 → 我的发票 → tick an order → 发票申请 → 申请 (待开票); finance
logs in, sees the badge, 领取 → 通过 in the inbox; the trainee sees 已开票, and the mail with its PDF
is in the mail catcher. A second journey: 驳回 with the confirmation dialog, then 取消 a new one."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from db.models.tasks import ReviewTask
from db.models.users import Role
from tests.e2e.journeys import enter_school, qr_login
from tests.support import make_staff, make_trainee
from tests.support.invoicing import paid_order

pytestmark = pytest.mark.e2e


async def open_my_invoices(page: Page) -> None:
    """个人中心 (user menu) → 支付中心 → 我的发票 (the left menu)."""
    await page.click("#user-menu")
    await page.click(".dropdown-menu >> text=支付中心")
    await page.click(".sidemenu >> text=我的发票")
    await page.wait_for_url("**/my/invoices")


async def finance_page(browser: Browser, live_server: str, username: str) -> Page:
    context = await browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    staff = await context.new_page()
    await staff.goto("/staff/login")
    await staff.fill("#username", username)
    await staff.fill("#password", "Pass@1234")
    await staff.click("button:has-text('登录')")
    await staff.wait_for_url("**/staff/tasks")
    return staff


async def open_task(staff: Page, sessionmaker, trainee_name: str) -> None:
    """处理 on the task's row; on a busy shared test queue it may sit on a later page: open it directly."""
    row = staff.locator("tr", has_text=f"个人发票 {trainee_name}")
    if await row.count():
        await row.locator("a", has_text="处理").first.click()
        return
    async with sessionmaker() as s:
        task_id = await s.scalar(select(ReviewTask.id).where(ReviewTask.subject.startswith(f"个人发票 {trainee_name}")))
    await staff.goto(f"/staff/tasks/{task_id}")


async def reload_until(page: Page, selector: str, text: str, tries: int = 60) -> None:
    """The invoice is issued in the background: reload as a user would until the state shows."""
    for _ in range(tries):
        if text in (await page.locator(selector).inner_text()):
            return
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(page.locator(selector)).to_contain_text(text)


async def test_apply_for_a_personal_invoice_and_receive_it_by_mail(
    page: Page, browser: Browser, live_server: str, sessionmaker, settings, mailcatcher
) -> None:
    trainee = await make_trainee(sessionmaker, "发票学员")
    order_no = await paid_order(sessionmaker, trainee.id, "PUB-01")
    finance = await make_staff(sessionmaker, Role.FINANCE)
    email = f"e2e-{secrets.token_hex(4)}@example.cn"

    await qr_login(page, trainee.name)
    await enter_school(page)
    await open_my_invoices(page)
    order_row = page.locator(f"tr[data-order-no='{order_no}']")
    await expect(order_row.locator(".invoice-state")).to_contain_text("可申请")

    await page.click("#apply-invoice")
    await expect(page.locator("#apply-hint")).to_be_visible()  # nothing ticked yet
    await order_row.locator("input[name=order_nos]").check()
    await expect(page.locator("#inv-total")).to_have_text("¥60.00")
    await page.click("#apply-invoice")
    dialog = page.locator("#invoice-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#inv-amount")).to_have_text("¥60.00")  # the sum, not editable
    await expect(dialog.locator("#inv-title")).to_have_value(trainee.name)
    await dialog.locator("input[name=title_type][value=unit]").check()  # 单位: the unit's name and code
    await expect(dialog.locator("#inv-title")).to_have_value(trainee.unit_name)
    await expect(dialog.locator("#inv-tax-id")).to_have_value(trainee.unit_credit_code)
    await dialog.locator("input[name=title_type][value=personal]").check()
    await expect(dialog.locator("#inv-title")).to_have_value(trainee.name)
    await dialog.locator("#inv-tax-id").fill("")
    await dialog.locator("#inv-email").fill("wrong@example")
    await page.click("#submit-invoice")
    await expect(dialog.locator("#apply-error")).to_contain_text("请填写正确的电子邮箱")  # shown in the dialog
    await dialog.locator("#inv-email").fill(email)
    await page.click("#submit-invoice")
    await page.wait_for_url("**/my/invoices?done=applied")
    await expect(page.locator("#flash")).to_contain_text("待开票")
    await expect(order_row.locator(".invoice-state")).to_contain_text("待开票")
    await expect(order_row.locator("text=取消")).to_be_visible()

    staff = await finance_page(browser, live_server, finance.username or "")
    try:
        await expect(staff.locator(".mainnav .badge")).not_to_have_text("")  # open tasks counted in the nav
        await open_task(staff, sessionmaker, trainee.name)
        await expect(staff.locator("#submission")).to_contain_text(order_no)
        await expect(staff.locator("#submission")).to_contain_text(email)
        await expect(staff.locator("#temporal-link")).to_have_attribute(
            "href", re.compile(re.escape(settings.temporal_ui_url) + r"/namespaces/default/workflows/invoice-P\d+")
        )
        await staff.click("#claim-btn")
        await expect(staff.locator("#task-assignee")).to_contain_text(finance.name)
        await staff.click("#approve-btn")
        await expect(staff.locator("#task-status")).to_contain_text("已通过")
        await expect(staff.locator("#history")).to_contain_text("通过")
    finally:
        await staff.context.close()

    await reload_until(page, f"tr[data-order-no='{order_no}'] .invoice-state", "已开票")
    invoice_text = await order_row.locator(".invoice-state").inner_text()
    invoice_no = invoice_text.split("发票号码")[-1].strip()
    assert len(invoice_no) == 20 and invoice_no.isdigit()

    # the mail catcher's page: the mail to the given address, with the PDF attached
    await page.goto(mailcatcher)
    await page.locator("a", has_text=invoice_no).first.click()
    await expect(page.locator("body")).to_contain_text(email)
    await expect(page.locator("body")).to_contain_text(f"电子发票-{invoice_no}.pdf")
    async with httpx.AsyncClient(base_url=mailcatcher) as http:
        mail = next(m for m in (await http.get("/api/mails")).json() if email in " ".join(m["to"]))
        pdf = await http.get(f"/mails/{mail['id']}/attachments/0")
    assert pdf.content.startswith(b"%PDF")


async def test_rejected_with_a_confirmed_reason_then_a_new_application_cancelled(
    page: Page, browser: Browser, live_server: str, sessionmaker
) -> None:
    trainee = await make_trainee(sessionmaker, "驳回学员")
    order_no = await paid_order(sessionmaker, trainee.id, "ECO-03")
    finance = await make_staff(sessionmaker, Role.FINANCE)
    await qr_login(page, trainee.name)
    await enter_school(page)
    await open_my_invoices(page)
    order_row = page.locator(f"tr[data-order-no='{order_no}']")
    await order_row.locator("input[name=order_nos]").check()
    await page.click("#apply-invoice")
    await page.fill("#inv-email", f"r-{secrets.token_hex(3)}@example.cn")
    await page.click("#submit-invoice")
    await page.wait_for_url("**/my/invoices?done=applied")

    staff = await finance_page(browser, live_server, finance.username or "")
    try:
        await open_task(staff, sessionmaker, trainee.name)
        await staff.click("#claim-btn")
        await staff.click("#reject-btn")
        await expect(staff.locator("#reason-hint")).to_be_visible()  # a rejection needs a reason first
        await expect(staff.locator("#reject-dialog")).not_to_be_visible()
        await staff.fill("#reason", "请填写单位全称")
        await staff.click("#reject-btn")
        await expect(staff.locator("#reject-dialog")).to_be_visible()
        await expect(staff.locator("#reject-reason-preview")).to_have_text("请填写单位全称")
        await staff.click("#confirm-reject")
        await expect(staff.locator("#task-status")).to_contain_text("已驳回")
        await expect(staff.locator("#task-outcome")).to_contain_text("请填写单位全称")
    finally:
        await staff.context.close()

    await reload_until(page, f"tr[data-order-no='{order_no}'] .invoice-state", "已驳回")
    await expect(order_row).to_contain_text("请填写单位全称")

    # apply again, then 取消 (confirmed) while 待开票
    await order_row.locator("input[name=order_nos]").check()
    await page.click("#apply-invoice")
    await page.fill("#inv-email", f"r2-{secrets.token_hex(3)}@example.cn")
    await page.click("#submit-invoice")
    await page.wait_for_url("**/my/invoices?done=applied")
    await expect(order_row.locator(".invoice-state")).to_contain_text("待开票")
    page.once("dialog", lambda d: d.accept())
    await order_row.locator("button", has_text="取消").click()
    await page.wait_for_url("**/my/invoices?done=cancelled")
    await expect(order_row.locator(".invoice-state")).to_contain_text("可申请")
