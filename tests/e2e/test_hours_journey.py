"""Browser journey, the manual's 学时登记 section: 学时申报 → 查询 → 学时填报 (with evidence) → 提交学时
(填报年份) → 提交申报; the school's reviewer (reviewer_hunau) claims the task in 审核任务, approves the
record; the trainee's 学时登记 progress bar moves."""

from __future__ import annotations

import pytest
from playwright.async_api import FilePayload, Page, expect

from api.hours_rules import today_local
from tests.e2e.journeys import enter_school, qr_login
from tests.support import make_trainee
from tests.support.hours import png_bytes

pytestmark = pytest.mark.e2e


async def test_declare_offline_hours_and_school_approves(page: Page, browser, live_server, sessionmaker) -> None:
    trainee = await make_trainee(sessionmaker, "线下学员")
    today = today_local()
    await qr_login(page, trainee.name)
    await enter_school(page)

    # 个人中心 → 学时登记: nothing yet
    await page.click("#user-menu")
    await page.click(".dropdown-menu >> text=学时登记")
    await expect(page.locator("#hours-shortfall")).to_contain_text("距年度要求还差 90 学时")

    # 步骤一: 学时申报 lists platform-pushed and self-declared hours
    await page.click("#tab-declare")
    await page.wait_for_url("**/my/hours/records")
    await expect(page.locator(".empty")).to_contain_text("没有符合条件的学时记录")

    # 步骤二: 查询 (self-declared only)
    await page.select_option("#filter-source", "self")
    await page.click("#query-btn")
    await page.wait_for_url("**/my/hours/records?*source=self*")

    # 步骤三: 学时填报 → 保存
    await page.click("#new-record")
    await page.fill("#training_name", "湖南省基层农技人员线下培训班")
    await page.fill("#organiser", "湖南省农业农村厅")
    await page.fill("#start_date", today.isoformat())
    await page.fill("#end_date", today.isoformat())
    await page.select_option("#subject_category", "professional")
    await page.select_option("#training_type", "in_post")
    await page.fill("#hours", "8")
    evidence: FilePayload = {"name": "结业证书.png", "mimeType": "image/png", "buffer": png_bytes("green")}
    await page.set_input_files("#evidence", files=evidence)
    await page.click("#save-record")
    await page.wait_for_url("**/my/hours/records?done=saved")
    await expect(page.locator("#flash")).to_contain_text("学时信息已保存")
    row = page.locator("#hours-records tr", has_text="湖南省基层农技人员线下培训班")
    await expect(row.locator(".record-state")).to_have_text("草稿")

    # 步骤四: tick it → 提交学时 → 填报年份 (only this year and last are offered)
    await row.locator("input[name=record_ids]").check()
    await page.click("#submit-hours")
    options = await page.locator("#declare-year option").all_inner_texts()
    assert options == [f"{today.year} 年", f"{today.year - 1} 年"]
    await page.select_option("#declare-year", str(today.year))
    await page.click("#confirm-submit-hours")
    await page.wait_for_url("**/my/hours/records?done=hours")
    await expect(row.locator(".record-state")).to_have_text("待提交申报")

    # 步骤五: 提交申报 → the school (the one the trainee is in) → 审核中
    pending = page.locator(".pending-declaration")
    await pending.get_by_role("button", name="提交申报", exact=True).click()
    dialog = pending.locator("dialog")
    await expect(dialog.locator("select[name=school_id] option:checked")).to_have_text("湖南农业大学")
    await dialog.get_by_role("button", name="确定提交").click()
    await page.wait_for_url("**/my/hours/records?done=declared")
    await expect(row.locator(".record-state")).to_have_text("审核中")
    await expect(page.locator("#declarations .declaration-state")).to_have_text("审核中")

    # the school's reviewer: 审核任务 → 处理 → 领取 → 通过
    staff_ctx = await browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
    staff_ctx.set_default_timeout(15_000)
    staff = await staff_ctx.new_page()
    await staff.goto("/staff/login")
    await staff.fill("#username", "reviewer_hunau")
    await staff.fill("#password", "Review@2026")
    await staff.click("button:has-text('登录')")
    await staff.goto("/staff/tasks?kind=hours_declaration")
    await staff.locator("#task-list a", has_text=trainee.name).first.click()
    await expect(staff.locator("#hours-items")).to_contain_text("湖南省基层农技人员线下培训班")
    await expect(staff.locator("#attachments img")).to_be_visible()  # the evidence image
    await staff.click("#claim-btn")
    item = staff.locator("#hours-items tr", has_text="湖南省基层农技人员线下培训班")
    await item.locator("input[value=approve]").check()
    await staff.click("#approve-btn")
    await expect(staff.locator("#task-status")).to_contain_text("已通过")
    await expect(staff.locator("#declaration-state")).to_have_text("已通过")
    await staff_ctx.close()

    # back to the trainee: 学时登记 counts the approved hours
    await page.goto("/my/hours")
    await expect(page.locator("#hours-total")).to_have_text("8")
    await expect(page.locator("#hours-shortfall")).to_contain_text("距年度要求还差 82 学时")
    await expect(page.locator("#hours-bar")).to_have_attribute("style", "width: 8%")
    await expect(page.locator("#registry-records")).to_contain_text("湖南省基层农技人员线下培训班")
