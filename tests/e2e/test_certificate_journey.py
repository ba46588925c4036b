"""Browser journey: 证明档案 → 打印学习证明 → 预览 → 打印 → the PDF → its QR link opens the public check."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.async_api import Page, expect

from tests.e2e.journeys import enter_school, qr_login
from tests.support import make_trainee
from tests.support.certificates import issue_certificate, make_completed_enrollment

pytestmark = pytest.mark.e2e


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return "".join(out.split())


async def test_print_certificate_and_verify_it(page: Page, sessionmaker, settings) -> None:
    trainee = await make_trainee(sessionmaker, "证明学员")
    enrollment = await make_completed_enrollment(sessionmaker, trainee, "AGR-04", training_type="pre_job")
    cert = await issue_certificate(sessionmaker, settings, enrollment.id)
    # a second course finished a moment ago: its certificate is still being made
    just_finished = await make_completed_enrollment(sessionmaker, trainee, "ECO-03")

    await qr_login(page, trainee.name)
    await enter_school(page)
    # 右上角用户名 → 证明档案
    await page.click("#user-menu")
    await page.click(".dropdown-menu >> text=证明档案")
    await page.wait_for_url("**/my/certificates")
    row = page.locator(f"tr[data-certificate-id='{cert.id}']")
    await expect(row).to_contain_text("乡村振兴战略与实践")
    await expect(row).to_contain_text("岗前培训")
    await expect(row).to_contain_text(cert.cert_no)
    await expect(page.locator(f"tr[data-enrollment-id='{just_finished.id}']")).to_contain_text("证明生成中")

    # 打印学习证明 → the preview pops up, without a console error (its font once came by file://)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
    page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
    await row.locator("text=打印学习证明").click()
    dialog = page.locator("dialog#cert-preview")
    await expect(dialog).to_be_visible()
    sheet = page.frame_locator("#cert-preview iframe")
    await expect(sheet.locator("h1")).to_have_text("学习证明")
    await expect(sheet.locator("body")).to_contain_text(trainee.name)
    await expect(sheet.locator("img[alt=查验二维码]")).to_be_visible()
    frame = await page.locator("#cert-preview iframe").element_handle()
    assert frame is not None and (inner := await frame.content_frame()) is not None
    fonts = await inner.evaluate(
        "async () => { await document.fonts.ready; return [...document.fonts].map(f => f.family + ':' + f.status); }"
    )
    assert any(f.endswith(":loaded") for f in fonts), (fonts, problems)  # the certificate's own font, over HTTP
    assert not [p for p in problems if "Not allowed to load local resource" in p or "font" in p.lower()], problems
    assert not problems, problems

    # 打印 → the stored PDF opens (inline) in a new tab, where the browser's own 打印 is
    printer = dialog.locator("#print-btn")
    await expect(printer).to_have_attribute("target", "_blank")
    pdf_url = await printer.get_attribute("href")
    assert pdf_url == f"/my/certificates/{cert.id}.pdf"
    async with page.context.expect_page() as tab_info:
        await printer.click()
    tab = await tab_info.value
    await tab.close()
    download = await page.request.get(pdf_url)  # the same request, with the trainee's session
    assert download.ok and download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("inline")
    text = pdf_text(await download.body())
    assert "乡村振兴战略与实践" in text and trainee.name in text and "岗前培训" in text

    # 学员也可扫码下方的二维码: the QR's link (printed beneath it) opens the public page, no login needed
    link = re.search(r"https?://[\w.:]+/verify/[\w-]+", text, re.ASCII)
    assert link and link.group(0) == f"{settings.base_url}/verify/{cert.verify_code}", text
    await dialog.locator("text=关闭").click()
    await expect(dialog).to_be_hidden()
    # the page notices by itself when the second certificate is ready
    second = await issue_certificate(sessionmaker, settings, just_finished.id)
    await expect(page.locator(f"tr[data-certificate-id='{second.id}']")).to_contain_text("打印学习证明")
    await expect(page.locator("text=证明生成中")).to_have_count(0)
    browser = page.context.browser
    assert browser is not None
    verifier = await browser.new_context()  # a stranger's phone
    try:
        phone = await verifier.new_page()
        await phone.goto(link.group(0))
        await expect(phone.locator("#verify-status")).to_contain_text("有效")
        await expect(phone.locator(".facts")).to_contain_text("乡村振兴战略与实践")
        await expect(phone.locator(".facts")).to_contain_text(cert.cert_no)
        await expect(phone.locator(".facts")).not_to_contain_text(trainee.name)
    finally:
        await verifier.close()


async def test_empty_archive(page: Page, sessionmaker) -> None:
    trainee = await make_trainee(sessionmaker, "新学员")
    await qr_login(page, trainee.name)
    await page.goto("/my/certificates")
    await expect(page.locator(".empty")).to_contain_text("暂无已完成课程的学习证明")
