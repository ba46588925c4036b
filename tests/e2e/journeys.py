"""Steps of the manual that several browser journeys share."""

from __future__ import annotations

from playwright.async_api import Page, expect


async def qr_login(page: Page, trainee_name: str) -> None:
    """学员登录: the QR code, 模拟扫码 on the 'phone', 确认登录, and the desktop moves on by itself."""
    await page.goto("/login")
    await expect(page.locator("#login-qr")).to_be_visible()
    async with page.context.expect_page() as phone_info:
        await page.click("#simulate-scan")
    phone = await phone_info.value
    option = phone.locator("#user_id option", has_text=trainee_name)
    await phone.select_option("#user_id", value=await option.get_attribute("value"))
    await phone.click("text=确认登录")
    await expect(phone.locator("text=登录成功")).to_be_visible()
    await phone.close()
    await page.wait_for_url("**/portal")


async def enter_school(page: Page, school_name: str = "湖南农业大学") -> None:
    """事管培训平台 → 湖南省事业单位培训监督服务平台 → 继续教育基地专区 → 学校入口."""
    await page.click("text=事管培训平台")
    await page.click("text=湖南省事业单位培训监督服务平台")
    await page.click("text=继续教育基地专区")
    await page.click(f"text=进入{school_name}学习平台")
    await page.wait_for_url("**/home")


async def pay_with_alipay(page: Page) -> None:
    """支付 → 收银台 → 支付宝 → 下一步 → QR → 模拟支付 on the phone → back on 我的课程 by itself."""
    await page.click("#pay-btn")
    await page.click("#method-ok")
    await page.wait_for_url("**/cashier/**")
    await page.check("input[name=channel][value=alipay]")
    await page.click("#next-step")
    await expect(page.locator("#pay-qr")).to_be_visible()
    async with page.context.expect_page() as phone_info:
        await page.click("#simulate-pay")
    phone = await phone_info.value
    await phone.click("#sim-pay")
    await expect(phone.locator("text=支付成功")).to_be_visible()
    await phone.close()
    await page.wait_for_url("**/my/courses")


async def open_nav(page: Page) -> None:
    """On a phone the header's links sit behind the menu button (菜单): open it when it is shown."""
    toggle = page.locator("#nav-toggle")
    if await toggle.is_visible() and await toggle.get_attribute("aria-expanded") != "true":
        await toggle.click()


async def click_nav(page: Page, label: str) -> None:
    """A link of the header's navigation, as a user reaches it at desktop or phone size."""
    await open_nav(page)
    await page.click(f"nav.mainnav >> text={label}")
