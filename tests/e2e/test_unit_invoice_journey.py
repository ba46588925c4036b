"""Browser journeys of 集体开票 up to the unit invoice: the qualification with an image (and refused with a
non-image), the admin's approval in the inbox, then 单位开票 from the query to 开票记录 with finance issuing
the invoice."""

from __future__ import annotations

import re
import secrets
from datetime import date

import pytest
from playwright.async_api import Browser, FilePayload, Page, expect
from sqlalchemy import select

from db.models.unit_qualification import UnitQualification
from db.models.users import Role
from domain.credit_code import make_credit_code
from tests.e2e.journeys import enter_school, qr_login
from tests.support import eventually, make_staff
from tests.support.invoicing import mail_catcher, mails_to, paid_order, png_bytes, unique_unit, unit_member

pytestmark = pytest.mark.e2e
YEAR = date.today().year


async def open_qualification_page(page: Page) -> None:
    """个人中心 → 支付中心 → 集体开票 (the left menu)."""
    await page.click("#user-menu")
    await page.click(".dropdown-menu >> text=我的课程")
    await page.click(".sidemenu >> text=集体开票")
    await page.wait_for_url("**/my/group-invoicing")


async def staff_decides(browser: Browser, live_server: str, username: str, subject: str, reason: str = "") -> None:
    """A staff member logs in at /staff/login, opens the task, 领取, then 通过 (or 驳回 with a reason)."""
    context = await browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    staff = await context.new_page()
    try:
        await staff.goto("/staff/login")
        await staff.fill("#username", username)
        await staff.fill("#password", "Pass@1234")
        await staff.click("button:has-text('登录')")
        await staff.wait_for_url("**/staff/tasks")
        await staff.locator("tr", has_text=subject).locator("a", has_text="处理").click()
        await expect(staff.locator("#submission")).to_contain_text(subject.split("：")[-1].split("（")[0])
        await staff.click("#claim-btn")
        await expect(staff.locator("#release-btn")).to_be_visible()
        if reason:
            await staff.fill("#reason", reason)
            await staff.click("#reject-btn")
            await staff.click("#confirm-reject")
            await expect(staff.locator("#task-status")).to_contain_text("已驳回")
        else:
            await staff.click("#approve-btn")
            await expect(staff.locator("#task-status")).to_contain_text("已通过")
    finally:
        await context.close()


async def test_non_image_authorization_is_refused_and_nothing_is_stored(page: Page, sessionmaker, settings) -> None:
    trainee = await unit_member(sessionmaker, unique_unit(), "上传学员")
    await qr_login(page, trainee.name)
    await enter_school(page)
    await open_qualification_page(page)
    folder = settings.files_dir / "authorizations"
    before = sorted(folder.iterdir()) if folder.exists() else []

    code = make_credit_code("12430000E2E000001")
    await page.fill("#unit_name", trainee.unit_name)
    await page.fill("#tax_id", code)
    # a text file named like an image: the content decides, not the name
    fake = FilePayload(name="委托书.png", mimeType="image/png", buffer="不是图片".encode())
    await page.set_input_files("#authorization", files=[fake])
    await page.click("#submit-qualification")
    await expect(page.locator("#flash")).to_contain_text("委托书文件只能上传图片格式")
    await expect(page.locator("#submit-qualification")).to_be_visible()  # still on the form
    assert (sorted(folder.iterdir()) if folder.exists() else []) == before
    async with sessionmaker() as s:
        assert await s.scalar(select(UnitQualification).where(UnitQualification.credit_code == code)) is None


async def test_qualification_then_unit_invoice_to_records(
    page: Page, browser: Browser, live_server: str, sessionmaker, settings
) -> None:
    unit = unique_unit("湖南省浏览器测试中心")
    trainee = await unit_member(sessionmaker, unit, "集体开票经办")
    colleague = await unit_member(sessionmaker, unit, "同单位学员")
    mine = await paid_order(sessionmaker, trainee.id, "PUB-02")  # ¥40
    theirs = await paid_order(sessionmaker, colleague.id, "AGR-01")  # ¥80
    admin = await make_staff(sessionmaker, Role.ADMIN)
    finance = await make_staff(sessionmaker, Role.FINANCE)

    # 集体开票: 单位名称, 单位识别号, 委托书 (an image) → 提交审核 → 审核中
    await qr_login(page, trainee.name)
    await enter_school(page)
    await open_qualification_page(page)
    code = make_credit_code(f"12430000E2E{secrets.randbelow(10**6):06d}")  # its own unit on each run (desktop, phone)
    await page.fill("#unit_name", unit)
    await page.fill("#tax_id", code)
    image = FilePayload(name="委托书.png", mimeType="image/png", buffer=png_bytes((300, 200)))
    await page.set_input_files("#authorization", files=[image])
    await page.click("#submit-qualification")
    await expect(page.locator("#qualification-state")).to_have_text("审核中")
    await expect(page.locator("#qualification-status img.auth-thumb")).to_be_visible()

    # the platform admin approves it in the inbox; the trainee's page says 已通过
    await staff_decides(browser, live_server, admin.username or "", f"集体开票资格：{unit}")
    await page.reload()
    await expect(page.locator("#qualification-state")).to_have_text("已通过")

    # 单位开票: 单位名称, 年份, 申请人姓名, 手机号 → 查询 → tick → 申请开票 → 开票信息 → 确定
    await page.click(".tabs >> text=单位开票")
    await expect(page.locator("input[name=unit_name]")).to_have_value(unit)
    await page.select_option("select[name=year]", str(YEAR))
    await page.click("#query-records")
    rows = page.locator("#apply-form tr[data-order-no]")
    await expect(rows).to_have_count(2)
    # narrowing by 申请人姓名 and 手机号 finds the colleague's record only
    await page.fill("input[name=name]", colleague.name)
    await page.fill("input[name=phone]", colleague.phone)
    await page.click("#query-records")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-order-no", theirs)
    await page.fill("input[name=name]", "")
    await page.fill("input[name=phone]", "")
    await page.click("#query-records")
    await expect(rows).to_have_count(2)

    await page.click("#apply-invoice")  # nothing ticked yet
    await expect(page.locator("#flash")).to_contain_text("请勾选需要申请开票的记录")
    await page.check("#check-all-records")
    await expect(page.locator("#record-total")).to_have_text("¥120.00")
    await page.click("#apply-invoice")
    dialog = page.locator("#invoice-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("input[readonly]").first).to_have_value(unit)
    await expect(dialog.locator("#dialog-total")).to_have_text("¥120.00")
    email = f"caiwu-{trainee.id}@hospital.example.cn"
    await page.fill("#invoice-email", email)
    await page.click("#confirm-invoice")
    await page.wait_for_url("**/my/group-invoicing/records")
    record = page.locator("#invoice-records tbody tr").first
    await expect(record).to_contain_text("待开票")
    await expect(record).to_contain_text("¥120.00")

    # finance issues the invoice in the inbox; 开票记录 shows 已开票 with the invoice number
    async with mail_catcher(settings) as mail_url:
        await staff_decides(browser, live_server, finance.username or "", f"单位开票：{unit}")
        await page.reload()
        await expect(record).to_contain_text("已开票")
        invoice_link = record.locator("a[href$='/pdf']")
        await expect(invoice_link).to_have_text(re.compile(r"^\d{20}$"))
        # the unit receives the invoice at the e-mail it gave
        [mail] = await eventually(lambda: mails_to(mail_url, email))
        assert (await invoice_link.text_content() or "") in mail["subject"]

    # the records are invoiced now: the query has nothing left to apply for
    await page.click(".tabs >> text=单位开票")
    await page.click("#query-records")
    await expect(page.locator("#records")).to_contain_text("没有待申请开票的记录")
    await expect(page.locator("#records")).not_to_contain_text(mine)
