"""Browser journey: QR login → choose two courses → cart → year and type → 支付宝 → 模拟支付 → 我的课程."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.async_api import Page, expect

from tests.e2e.journeys import click_nav, enter_school, pay_with_alipay, qr_login
from tests.support import make_trainee

pytestmark = pytest.mark.e2e


async def test_login_choose_two_courses_and_pay(page: Page, sessionmaker) -> None:
    trainee = await make_trainee(sessionmaker, "购课学员")
    await qr_login(page, trainee.name)
    await enter_school(page)

    # 在线课程 → filter to 公共科目 → 加入购物车 on two courses
    await click_nav(page, "在线课程")
    await page.select_option("select[name=subject]", "public")
    first = page.locator(".course-card", has_text="法治政府建设与依法行政")
    await first.locator("text=加入购物车").click()
    await expect(first.locator("text=去购物车")).to_be_visible()
    await page.goto("/courses?q=心理健康")
    second = page.locator(".course-card", has_text="心理健康与压力管理")
    await second.locator("text=加入购物车").click()
    await expect(page.locator("#nav-cart .badge")).to_have_text("2")
    await second.locator("text=去购物车").click()

    # 确认支付 with nothing ticked is refused at once: no year/type dialog first
    await page.click("#confirm-pay")
    await expect(page.locator("#flash")).to_contain_text("请至少选择一门课程")
    await expect(page.locator("#year-type-dialog")).not_to_be_visible()

    # 购物车: tick both, 确认支付 → 培训年份 and 培训类型 → 确认
    await page.check("#check-all")
    await expect(page.locator("#sel-total")).to_have_text("¥70.00")
    await page.click("#confirm-pay")
    await page.select_option("#training_year", str(date.today().year))
    await page.select_option("#training_type", "in_post")
    await page.click("#confirm-year-type")
    await page.wait_for_url("**/orders/*/pay")
    await expect(page.locator("text=¥70.00").first).to_be_visible()
    await expect(page.locator("#order-training-type")).to_have_text("在岗培训")  # the type chosen

    await pay_with_alipay(page)
    rows = page.locator("#my-course-list tr[data-enrollment-id]")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#my-course-list")).to_contain_text("法治政府建设与依法行政")
    await expect(page.locator("#my-course-list")).to_contain_text("心理健康与压力管理")


async def test_expired_login_qr_says_so(page: Page, app) -> None:
    app.state.settings.login_qr_ttl_seconds, saved = 1, app.state.settings.login_qr_ttl_seconds
    try:
        await page.goto("/login")
        await expect(page.locator("text=二维码已过期")).to_be_visible(timeout=10_000)
    finally:
        app.state.settings.login_qr_ttl_seconds = saved


async def test_unknown_course_shows_the_not_found_page(page: Page, sessionmaker) -> None:
    trainee = await make_trainee(sessionmaker, "迷路学员")
    await qr_login(page, trainee.name)
    await enter_school(page)
    for url in ("/courses/999999", "/courses/abc"):
        resp = await page.goto(url)
        assert resp is not None and resp.status == 404, url
        await expect(page.locator("#error-title")).to_have_text("页面不存在（404）")
        await expect(page.locator("text=回到首页")).to_be_visible()
