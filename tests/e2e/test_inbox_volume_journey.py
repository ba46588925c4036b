"""The inbox for volume in the browser (desktop and phone): a school reviewer filters to one kind,
批量领取 the page, 批量通过 it after confirming, saves the filter as 常用筛选 and comments on a task;
the finance lead 改派 a claimed task to another reviewer."""

from __future__ import annotations

import pytest
from playwright.async_api import Dialog, Page, expect

from db.models.users import Role
from domain.review import Queue
from tests.api.test_inbox import new_school, probe_worker, start_probe  # noqa: F401 (fixture)
from tests.support import make_staff

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("probe_worker")]


async def staff_login(page: Page, username: str) -> None:
    await page.goto("/staff/login")
    await page.fill("#username", username)
    await page.fill("#password", "Pass@1234")
    await page.click("button:has-text('登录')")
    await page.wait_for_url("**/staff/tasks")


def accept_confirmations(page: Page) -> list[str]:
    """hx-confirm asks with the browser's dialog: accept it, and keep what it asked."""
    asked: list[str] = []

    async def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    return asked


async def test_a_reviewer_claims_and_approves_a_page_of_tasks_at_once(
    page: Page, temporal_client, sessionmaker
) -> None:
    school_id = await new_school(sessionmaker)
    queue = Queue.school(school_id)
    probes = [await start_probe(temporal_client, sessionmaker, queue, None, f"年终审核{i}") for i in range(3)]
    reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    asked = accept_confirmations(page)
    await staff_login(page, reviewer.username or "")

    await page.goto("/staff/tasks?kind=probe")
    await expect(page.locator("#task-list tr[data-task-id]")).to_have_count(3)
    await page.check("#bulk-all")
    await page.click("#bulk-claim-btn")
    await expect(page.locator("#bulk-outcome")).to_contain_text("已领取 3 个任务")
    # the list redraws itself: every row is now mine
    await expect(page.locator("#task-list tr[data-task-id]", has_text=reviewer.name)).to_have_count(3)

    await page.check("#bulk-all")
    await page.fill("#bulk-form input[name=reason]", "年终集中审核")
    await page.click("#bulk-approve-btn")
    await expect(page.locator("#bulk-outcome")).to_contain_text("已通过 3 个任务")
    assert asked and "确定通过所选" in asked[-1]
    await expect(page.locator("#task-list")).to_contain_text("没有符合条件的任务")
    for handle, _ in probes:
        assert await handle.result() == "approved"

    # 常用筛选: this filter, saved under a name, comes back as a link
    await page.fill("input[name=filter_name]", "本校待审")
    await page.click("#save-filter-form button")
    await expect(page.locator("#saved-filters")).to_contain_text("已保存常用筛选「本校待审」")
    await page.goto("/staff/tasks")
    await page.click(".saved-filter a:has-text('本校待审')")
    await page.wait_for_url("**kind=probe**")

    # 评论 on a decided task: into its history
    await page.goto(f"/staff/tasks/{probes[0][1]}")
    await page.fill("#comment", "已与申请人电话确认")
    await page.click("#comment-btn")
    await expect(page.locator("#history")).to_contain_text("评论：已与申请人电话确认")


async def test_the_finance_lead_reassigns_a_claimed_task(
    page: Page, temporal_client, sessionmaker, browser, live_server
) -> None:
    _, task_id = await start_probe(temporal_client, sessionmaker, Queue.FINANCE, None, "待改派的年终发票")
    holder = await make_staff(sessionmaker, Role.FINANCE)
    taker = await make_staff(sessionmaker, Role.FINANCE)
    lead = await make_staff(sessionmaker, Role.FINANCE_LEAD)
    # the holder claims it in a browser of their own, then is away
    context = await browser.new_context(base_url=live_server, locale="zh-CN")
    other = await context.new_page()
    await staff_login(other, holder.username or "")
    await other.goto(f"/staff/tasks/{task_id}")
    await other.click("#claim-btn")
    await expect(other.locator("#task-assignee")).to_contain_text(holder.name)
    await context.close()

    asked = accept_confirmations(page)
    await staff_login(page, lead.username or "")
    await page.goto(f"/staff/tasks/{task_id}")
    await page.select_option("#reassign-form select[name=assignee_id]", str(taker.id))
    await page.click("#reassign-btn")
    await expect(page.locator("#task-assignee")).to_contain_text(taker.name)
    await expect(page.locator("#history")).to_contain_text(f"由 {holder.name} 改派给 {taker.name}")
    assert asked and "改派" in asked[-1]
