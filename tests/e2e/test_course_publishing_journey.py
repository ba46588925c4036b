"""Browser journey of 课程管理: a course administrator creates a course, uploads a clip (with the
upload progress bar) and submits it; the platform admin approves it in the inbox; the course shows
in 在线课程, and a trainee buys it and opens it."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import date

import pytest
from playwright.async_api import Browser, FilePayload, Page, expect

from db.models.users import Role
from tests.e2e.journeys import click_nav, enter_school, pay_with_alipay, qr_login
from tests.e2e.test_unit_invoice_journey import staff_decides
from tests.support import make_staff, make_trainee
from tests.support.courses import clip_bytes

pytestmark = pytest.mark.e2e


@pytest.fixture
def short_hours(settings) -> Iterator[None]:
    """1 学时 = 6 seconds of courseware, so the journey uploads a 3-second clip for 0.5 学时."""
    old = (settings.course_minutes_per_hour, settings.course_hours_tolerance_minutes)
    settings.course_minutes_per_hour, settings.course_hours_tolerance_minutes = 0.1, 1 / 60
    yield
    settings.course_minutes_per_hour, settings.course_hours_tolerance_minutes = old


async def test_course_uploaded_submitted_approved_bought_and_opened(
    page: Page, browser: Browser, live_server: str, sessionmaker, tmp_path, short_hours
) -> None:
    title = f"农村电商实务{secrets.token_hex(2)}"
    course_admin = await make_staff(sessionmaker, Role.COURSE_ADMIN, school_id=1)
    admin = await make_staff(sessionmaker, Role.ADMIN)
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # 提交审核 asks first

    # 课程管理: log in, 新建课程, fill the form, 保存草稿
    await page.goto("/staff/login")
    await page.fill("#username", course_admin.username or "")
    await page.fill("#password", "Pass@1234")
    await page.click("button:has-text('登录')")
    await page.wait_for_url("**/staff/courses")
    await page.click("#new-course")
    await page.fill("#course_title", title)
    await page.select_option("#category_id", index=1)
    await page.select_option("#subject_category", "professional")
    await page.select_option("#major_id", index=1)
    await page.fill("#hours", "0.5")
    await page.fill("#price", "20")
    await page.fill("#description", "电商平台运营与农产品上行。")
    await page.click("#create-course")
    await page.wait_for_url("**/staff/courses/*")
    await expect(page.locator("#course-state")).to_have_text("草稿")
    await expect(page.locator("#chapters")).to_contain_text("还没有章节")

    # a chapter with its courseware; the duration comes from the file
    await page.fill("#chapter_title", "第1讲 农村电商概览")
    clip = FilePayload(name="第1讲.mp4", mimeType="video/mp4", buffer=clip_bytes(tmp_path, 3))
    await page.set_input_files("#courseware", files=[clip])
    await page.click("#add-chapter")
    await expect(page.locator("#chapters")).to_contain_text("第1讲 农村电商概览", timeout=30_000)
    await expect(page.locator("#chapters")).to_contain_text("0 分 3 秒")
    await expect(page.locator("#chapters")).to_contain_text("学时与课件时长相符")
    await expect(page.locator("#chapter-form")).to_have_attribute("data-uploaded", "100")  # the progress bar ran

    await page.click("#submit-course")
    # the page moves on once the workflow has the version 审核中 and the admin's task open
    await expect(page.locator("#course-state")).to_have_text("审核中", timeout=30_000)
    await expect(page.locator("#flash")).to_contain_text("已提交审核")

    # the platform admin approves it in the inbox
    await staff_decides(browser, live_server, admin.username or "", f"课程上架：{title}（第1版）")
    await page.reload()
    await expect(page.locator("#course-state")).to_have_text("已上架")

    # a trainee finds it in 在线课程, buys it and opens it
    trainee = await make_trainee(sessionmaker, "新课学员")
    context = await browser.new_context(
        base_url=live_server, locale="zh-CN", viewport=page.viewport_size or {"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    learner = await context.new_page()
    try:
        await qr_login(learner, trainee.name)
        await enter_school(learner)
        await click_nav(learner, "在线课程")
        await learner.fill("input[name=q]", title)
        await learner.press("input[name=q]", "Enter")
        card = learner.locator(".course-card", has_text=title)
        await card.locator("text=加入购物车").click()
        await card.locator("text=去购物车").click()
        await learner.check("#check-all")
        await expect(learner.locator("#sel-total")).to_have_text("¥20.00")
        await learner.click("#confirm-pay")
        await learner.select_option("#training_year", str(date.today().year))
        await learner.select_option("#training_type", "in_post")
        await learner.click("#confirm-year-type")
        await learner.wait_for_url("**/orders/*/pay")
        await pay_with_alipay(learner)
        row = learner.locator("#my-course-list tr[data-enrollment-id]", has_text=title)
        await row.locator("text=开始学习").click()
        await learner.wait_for_url("**/study/*")
        chapters = learner.locator("#toc li")
        await expect(chapters).to_have_count(1)
        await expect(chapters.nth(0)).to_contain_text("第1讲 农村电商概览")
    finally:
        await context.close()
