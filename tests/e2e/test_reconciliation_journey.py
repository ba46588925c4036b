"""对账 in the browser: finance opens 对账 from the header, reruns a past day (confirming), finds a
payment the provider took without an order, opens its task, 领取, writes a note and marks it
explained; the day's page then shows it resolved. Desktop and phone (the `page` fixture)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Dialog, Page, expect

from db.base import utcnow
from db.models.paysim import SimTrade, SimTradeState
from db.models.users import Role
from domain.reconciliation import previous_beijing_day
from tests.e2e.journeys import click_nav
from tests.e2e.test_phone_layout import assert_fits
from tests.support import make_staff

pytestmark = pytest.mark.e2e


async def test_finance_reruns_a_day_and_explains_a_difference(page: Page, sessionmaker) -> None:
    viewport = page.viewport_size or {"width": 0}
    day = previous_beijing_day(utcnow() - timedelta(days=60 + viewport["width"] % 7))  # one day per device
    tag = uuid.uuid4().hex[:10]
    paid_at = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=4)
    async with sessionmaker() as session:
        session.add(
            SimTrade(
                out_trade_no=f"E{tag}-alipay",
                trade_no=f"2025{tag}",
                channel="alipay",
                amount_cents=4200,
                subject="继续教育课程费",
                state=SimTradeState.SUCCESS,
                expires_at=paid_at,
                created_at=paid_at,
                paid_at=paid_at,
                refunded_cents=0,
            )  # fmt: skip
        )
        await session.commit()
    finance = await make_staff(sessionmaker, Role.FINANCE)

    await page.goto("/staff/login")
    await page.fill("#username", finance.username or "")
    await page.fill("#password", "Pass@1234")
    await page.click("button:has-text('登录')")
    await page.wait_for_url("**/staff/tasks")
    await click_nav(page, "对账")
    await page.wait_for_url("**/staff/reconciliation")
    await expect(page.locator("h2", has_text="对账")).to_be_visible()

    await page.fill("#rerun-day", day)
    confirmed: list[str] = []

    async def accept(dialog: Dialog) -> None:
        confirmed.append(dialog.message)
        await dialog.accept()

    page.once("dialog", accept)
    await page.click("#rerun-btn")
    await expect(page.locator("#rerun-flash")).to_contain_text(f"{day} 已重新对账", timeout=20_000)
    assert confirmed and "重新对账" in confirmed[0]
    row = page.locator("#differences tr", has_text=f"E{tag}")
    await expect(row).to_contain_text("渠道收款无对应订单")
    await expect(row).to_contain_text("¥42.00")
    await assert_fits(page, "reconciliation-day")

    await row.get_by_role("link", name="处理").click()
    await page.wait_for_url("**/staff/tasks/*")
    await expect(page.locator("#difference-kind")).to_have_text("渠道收款无对应订单")
    await page.click("#claim-btn")
    await page.fill("#resolve-note", "渠道测试交易，已核实")
    await page.click("#resolve-explain")
    await expect(page.locator("#task-status")).to_contain_text("已通过")
    await expect(page.locator("#history")).to_contain_text("标记为已说明：渠道测试交易，已核实")
    await assert_fits(page, "reconciliation-task")

    await page.goto(f"/staff/reconciliation?day={day}")
    resolved = page.locator("#differences tr", has_text=f"E{tag}")
    await expect(resolved).to_contain_text("已处理")
    await expect(resolved).to_contain_text("标记为已说明：渠道测试交易，已核实")
