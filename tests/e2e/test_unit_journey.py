"""Browser journey, 单位管理员 and 消息中心: a unit administrator signs in, filters the roster for
those behind (未达标), opens one person's hours and downloads the roster as Excel; the compliance
round reminds the person behind, who sees the reminder in 消息中心 (badge in the header), marks it
read and follows its link to 学时登记."""

from __future__ import annotations

import io
import secrets
import uuid
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.async_api import Page, expect
from temporalio.client import Client

from config import Settings
from domain.compliance import ComplianceRoundInput
from tests.e2e.journeys import click_nav, enter_school, qr_login
from tests.support.units import PASSWORD, make_unit
from workflows.compliance_round import ComplianceRoundWorkflow

pytestmark = pytest.mark.e2e
YEAR = date.today().year


async def test_unit_admin_sees_who_is_behind_and_the_trainee_is_reminded(
    page: Page, sessionmaker, temporal_client: Client, settings: Settings
) -> None:
    tag = secrets.token_hex(2)
    code, people, admin = await make_unit(sessionmaker, {f"达标{tag}x": (40, 52), f"落后{tag}x": (12, 6)})
    ahead, behind = people[f"达标{tag}x"], people[f"落后{tag}x"]

    # 工作人员登录 → the unit's roster
    await page.goto("/staff/login")
    await page.fill("#username", admin.username or "")
    await page.fill("#password", PASSWORD)
    await page.click("button:has-text('登录')")
    await page.wait_for_url(f"**/units/{code}/roster")
    await expect(page.locator("#roster-people")).to_have_text("2")
    await expect(page.locator("#roster-behind-count")).to_have_text("1")
    await expect(page.locator(f"tr[data-trainee-id='{ahead.id}']")).to_contain_text("达标")

    # 只看未达标: htmx swaps the roster
    await page.check("#roster-behind")
    await page.wait_for_url("**behind=1**")
    await expect(page.locator(f"tr[data-trainee-id='{ahead.id}']")).to_have_count(0)
    row = page.locator(f"tr[data-trainee-id='{behind.id}']")
    await expect(row).to_contain_text("未达标")
    await expect(row).to_contain_text("还差 72 学时")

    # 导出 Excel (the filtered roster)
    async with page.expect_download() as download_info:
        await page.click("#roster-export")
    download = await download_info.value
    assert download.suggested_filename.endswith(f"{YEAR}年度学时.xlsx")
    sheet = load_workbook(io.BytesIO(Path(await download.path()).read_bytes())).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[7], r[-1]) for r in rows] == [(behind.name, 18, "未达标")]

    # the person's detail
    await row.locator(f"text={behind.name}").click()
    await page.wait_for_url(f"**/units/{code}/people/{behind.id}**")
    await expect(page.locator("#person-status")).to_have_text("未达标")
    await expect(page.locator("#person-progress")).to_contain_text("公共科目 12 学时 · 专业科目 6 学时")

    # the compliance round (as the schedule starts it, for this unit only) reminds the person behind
    handle = await temporal_client.start_workflow(
        ComplianceRoundWorkflow.run,
        ComplianceRoundInput(f"{YEAR}-11-23", YEAR, f"{YEAR}年11月30日", only_credit_codes=[code]),
        id=f"compliance-e2e-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
    )
    assert (await handle.result()).reminded == 1

    # the trainee: the header badge, 消息中心, 标为已读, the link to 学时登记
    await page.context.clear_cookies()
    await qr_login(page, behind.name)
    await enter_school(page)
    await expect(page.locator("#notice-count")).to_have_text("1")
    await click_nav(page, "消息中心")
    await page.wait_for_url("**/my/notices")
    notice = page.locator("li.notice").first
    await expect(notice).to_contain_text(f"{YEAR}年度学时未达标提醒")
    await expect(notice).to_contain_text("还差 72 学时")
    await notice.locator("button.mark-read").click()
    await expect(page.locator("#notices-unread")).to_have_text("0")
    await expect(page.locator("#notice-count")).to_have_text("")
    await page.locator("li.notice").first.locator("text=查看详情").click()
    await page.wait_for_url(f"**/my/hours?year={YEAR}")
    await expect(page.locator("#hours-shortfall")).to_contain_text("距年度要求还差 72 学时")
