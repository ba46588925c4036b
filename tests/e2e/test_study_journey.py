"""Browser journeys: study a short course through a captcha (one wrong answer, then the right one)
to completion; a seek is put back, a hidden page pauses and a second device takes over; 换课 (hover the cover, 换课,
确定); 退课 (确定) and the refund on the order page.

The captcha's expected answer is read through the test hook (settings.test_hooks); the check itself
is the normal one. Chapters are 6 s, heartbeats 1 s and the captcha comes after 4 s of playback, so
the whole journey takes seconds, not minutes."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.async_api import Page, expect

from tests.e2e.journeys import enter_school, qr_login
from tests.support import make_trainee
from tests.support.study import YEAR, course_id_by_code, enroll, ensure_test_clip, make_test_course, patched

pytestmark = pytest.mark.e2e


async def answer_captcha(page: Page, enrollment_id: int, wrong_first: bool = False) -> None:
    dialog = page.locator("#captcha-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#captcha-img")).to_have_attribute("src", re.compile(r"captcha\.png"))
    if wrong_first:
        before = await page.locator("#captcha-img").get_attribute("src")
        await page.fill("#captcha-input", "0000")
        await page.click("#captcha-ok")
        await expect(page.locator("#captcha-error")).to_have_text("验证码错误，请重新输入")
        await expect(page.locator("#captcha-img")).not_to_have_attribute("src", before or "")
    hook = await page.request.get(f"/study/{enrollment_id}/test-hooks/captcha")
    await page.fill("#captcha-input", (await hook.json())["text"])
    await page.click("#captcha-ok")
    await expect(dialog).to_be_hidden()


async def test_study_through_a_captcha_to_completion(page: Page, sessionmaker, settings) -> None:
    ensure_test_clip(settings)
    trainee = await make_trainee(sessionmaker, "学习学员")
    course_id = await make_test_course(sessionmaker, durations=(6, 6))
    eid = await enroll(sessionmaker, trainee.id, course_id)
    with patched(settings, heartbeat_seconds=1, captcha_min_seconds=4, captcha_max_seconds=4):
        await qr_login(page, trainee.name)
        await enter_school(page)
        # 我的课程 from the user-name menu at the top right
        await page.click("#user-menu")
        await page.click(".dropdown-menu >> text=我的课程")
        row = page.locator(f"tr[data-enrollment-id='{eid}']")
        await row.locator("text=开始学习").click()
        await page.wait_for_url(f"**/study/{eid}")
        chapters = page.locator("#toc li")
        await expect(chapters).to_have_count(2)
        await expect(chapters.nth(0)).to_contain_text("0:06")
        await expect(chapters.nth(1)).to_contain_text("未解锁")
        await chapters.nth(0).get_by_role("link", name="学习", exact=True).click()

        # chapter 1: play; the captcha pauses it after 4 s; a wrong answer, then the right one
        await expect(page.locator("#play-btn")).to_be_enabled()
        await expect(page.locator("#video")).not_to_have_attribute("controls", re.compile(".*"))
        await page.click("#play-btn")
        await answer_captcha(page, eid, wrong_first=True)
        await expect(page.locator("#chapter-done")).to_be_visible(timeout=20_000)
        await page.click("#next-chapter")

        # chapter 2: the next check is due 2 s in; then the course completes
        await page.click("#play-btn")
        await answer_captcha(page, eid)
        await expect(page.locator("#done-text")).to_contain_text("本课程已全部学完", timeout=20_000)

    await page.click("text=返回课程目录")
    await expect(page.locator("#course-done")).to_be_visible()
    await expect(page.locator("#course-percent")).to_have_text("100%")
    await page.goto("/my/courses")
    await expect(page.locator(f"tr[data-enrollment-id='{eid}']")).to_contain_text("已学完")


async def test_unanswered_captcha_leaves_the_player_by_itself(page: Page, sessionmaker, settings) -> None:
    ensure_test_clip(settings)
    trainee = await make_trainee(sessionmaker, "超时学员")
    course_id = await make_test_course(sessionmaker, durations=(30,))
    eid = await enroll(sessionmaker, trainee.id, course_id)
    with patched(
        settings, heartbeat_seconds=1, captcha_min_seconds=2, captcha_max_seconds=2, captcha_timeout_seconds=3
    ):
        await qr_login(page, trainee.name)
        await enter_school(page)
        await page.goto(f"/study/{eid}")
        await page.get_by_role("link", name="学习", exact=True).click()
        await page.click("#play-btn")
        await expect(page.locator("#captcha-dialog")).to_be_visible()
        # no answer: the session ends and the page goes back to the table of contents with the reason
        await page.wait_for_url(f"**/study/{eid}?notice=CaptchaTimeout", timeout=15_000)
        await expect(page.locator("#flash")).to_contain_text("验证码超时未输入，已退出播放，请重新打开学习")
        # the 2 s played before the captcha are kept (2 of 30 s)
        await expect(page.locator("#toc li .chapter-percent").first).to_have_text("6%")


HIDE_PAGE = """() => {
  Object.defineProperty(document, "hidden", { value: true, configurable: true });
  Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW_PAGE = """() => {
  Object.defineProperty(document, "hidden", { value: false, configurable: true });
  Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def _next_second(clock: str | None) -> str:
    minutes, seconds = (int(x) for x in (clock or "0:00").split(":"))
    total = minutes * 60 + seconds + 1
    return f"{total // 60}:{total % 60:02d}"


async def test_a_hidden_page_pauses_and_a_second_device_takes_over(page: Page, sessionmaker, settings) -> None:
    ensure_test_clip(settings)
    trainee = await make_trainee(sessionmaker, "两台设备学员")
    course_id = await make_test_course(sessionmaker, durations=(120,))
    eid = await enroll(sessionmaker, trainee.id, course_id)
    status = page.locator("#player-status")
    with patched(settings, heartbeat_seconds=1):
        await qr_login(page, trainee.name)
        await enter_school(page)
        await page.goto(f"/study/{eid}")
        await page.get_by_role("link", name="学习", exact=True).click()
        await page.click("#play-btn")
        await expect(status).to_have_text("正在学习")
        await page.wait_for_timeout(2_000)

        # a seek by other means than the (absent) seek bar: put back, and the player says why
        clock = await page.locator("#pos-text").text_content()
        await page.evaluate("document.getElementById('video').currentTime += 1.5")
        await expect(status).to_have_text("学习过程中视频不可拖动播放")
        assert await page.locator("#pos-text").text_content() in (clock, _next_second(clock))
        await page.wait_for_timeout(1_000)

        # the trainee switches to another app: playback pauses, and the time away earns nothing
        await page.evaluate(HIDE_PAGE)
        await expect(status).to_contain_text("已暂停")
        assert await page.evaluate("document.getElementById('video').paused")
        shown_before = await page.locator("#pos-text").text_content()
        await page.wait_for_timeout(2_000)
        await page.evaluate(SHOW_PAGE)
        await expect(page.locator("#pos-text")).to_have_text(shown_before or "")
        await page.click("#play-btn")
        await expect(status).to_have_text("正在学习")

        # the same trainee opens the chapter on a second device: the first page stops and says so
        other = await page.context.browser.new_context(base_url=settings.base_url, locale="zh-CN")  # type: ignore[union-attr]
        try:
            second = await other.new_page()
            await qr_login(second, trainee.name)
            await second.goto(f"/study/{eid}")
            await second.get_by_role("link", name="学习", exact=True).click()
            await expect(second.locator("#play-btn")).to_be_enabled()
            await expect(status).to_contain_text("您已在其他页面或设备上继续学习", timeout=10_000)
            await expect(page.locator("#play-btn")).to_be_disabled()
            assert await page.evaluate("document.getElementById('video').paused")
        finally:
            await other.close()


async def buy_through_http(page: Page, course_ids: list[int]) -> None:
    """Checkout and pay with the browser's own session (the purchase pages have their own journey)."""
    token = next(c["value"] for c in await page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRF-Token": token, "HX-Request": "true"}
    form = [("course_ids", str(c)) for c in course_ids] + [("training_year", str(YEAR)), ("training_type", "in_post")]
    checkout = await page.request.post(
        "/orders", data=urlencode(form), headers={**headers, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert checkout.status == 204, await checkout.text()
    order_no = checkout.headers["hx-redirect"].split("/")[2]
    qr = await page.request.post(f"/cashier/{order_no}/next", form={"channel": "alipay"}, headers=headers)
    trade = re.search(r"/paysim/scan/(\w+)", await qr.text())
    assert trade
    await page.request.post(f"/paysim/scan/{trade.group(1)}/pay", headers=headers)
    for _ in range(100):  # the cashier page polls the same way until the payment is applied
        status = await page.request.get(f"/orders/{order_no}/status", headers=headers)
        if status.headers.get("hx-redirect") == "/my/courses":
            return
        await page.wait_for_timeout(100)
    raise AssertionError("payment not applied")


async def test_swap_then_withdraw_and_see_the_refund(page: Page, sessionmaker) -> None:
    trainee = await make_trainee(sessionmaker, "换课学员")
    await qr_login(page, trainee.name)
    await enter_school(page)
    agr1, pub2 = await course_id_by_code(sessionmaker, "AGR-01"), await course_id_by_code(sessionmaker, "PUB-02")
    await buy_through_http(page, [agr1, pub2])
    await page.goto("/my/courses")
    rows = page.locator("#my-course-list tr[data-enrollment-id]")
    await expect(rows).to_have_count(2, timeout=15_000)

    # 换课: 现代农业种植技术 → a course of the same major and hours
    await page.locator("tr", has_text="现代农业种植技术").get_by_role("link", name="换课").click()
    await page.wait_for_url("**/swap")
    card = page.locator(".course-card", has_text="智慧农业与物联网应用")
    await card.locator(".swap-cover").hover()
    await card.get_by_role("button", name="换课").click()
    await expect(card.locator("dialog")).to_contain_text("是否要更换")
    await card.locator("dialog").get_by_role("button", name="确定").click()
    await page.wait_for_url("**/my/courses?notice=swapped")
    await expect(page.locator("#flash")).to_contain_text("换课成功")
    await expect(page.locator("#my-course-list")).to_contain_text("智慧农业与物联网应用")
    await expect(page.locator("#my-course-list")).not_to_contain_text("现代农业种植技术")

    # 退课: 是否确定要退课 → 确定 → the course leaves 我的课程; the money goes back
    row = page.locator("tr", has_text="事业单位工作人员职业道德与行为规范")
    await row.get_by_role("button", name="退课").click()
    await expect(row.locator("dialog")).to_contain_text("是否确定要退课")
    await row.locator("dialog").get_by_role("button", name="确定").click()
    await page.wait_for_url("**/my/courses?notice=withdrawn")
    await expect(page.locator("#flash")).to_contain_text("退课成功")
    await expect(rows).to_have_count(1)
    await page.click("#user-menu")
    await page.click(".dropdown-menu >> text=支付中心")
    await page.locator("a", has_text=re.compile(r"\d{14}-")).first.click()
    await expect(page.locator("#refunds")).to_contain_text("退课退款")
    for _ in range(20):  # the refund completes in the background; the page shows it once done
        if "已退款" in await page.locator("#refunds").inner_text():
            break
        await page.wait_for_timeout(300)
        await page.reload()
    await expect(page.locator("#refunds")).to_contain_text("已退款")
    await expect(page.locator("#refunds")).to_contain_text("¥40.00")
    await expect(page.locator("#refunds .refund-no").first).to_have_text(re.compile(r"^TK\d{12}$"))  # 退款单号
    order_no = (await page.locator("h2 + p b").first.inner_text()).strip()

    # one of two lines refunded: 部分退款 in 我的订单, not 已支付
    await page.goto("/my/orders")
    state = page.locator(f".order-status[data-order-no='{order_no}']")
    await expect(state).to_have_text("部分退款")

    # the other line withdrawn too: 已退款
    await page.goto("/my/courses")
    row = page.locator("tr", has_text="智慧农业与物联网应用")
    await row.get_by_role("button", name="退课").click()
    await row.locator("dialog").get_by_role("button", name="确定").click()
    await page.wait_for_url("**/my/courses?notice=withdrawn")
    await expect(page.locator("#flash")).to_contain_text("退款单号：TK")
    for _ in range(30):  # the refund completes in the background
        await page.goto("/my/orders")
        if await state.inner_text() == "已退款":
            break
        await page.wait_for_timeout(300)
    await expect(state).to_have_text("已退款")
