"""The development inbox: what the app sends must be readable there, Chinese and attachments intact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote

import aiosmtplib
import httpx
import pytest

from mailcatcher.server import MailCatcher, PortInUse, start_in_thread

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SUBJECT = "电子发票已开具：湖南省继续教育培训费"


@pytest.fixture
async def catcher(tmp_path: Path) -> AsyncIterator[MailCatcher]:
    mc = MailCatcher(tmp_path / "mail", smtp_port=0, http_port=0)
    await mc.start()
    yield mc
    await mc.stop()


def invoice_mail(subject: str = SUBJECT, to: str = "张三 <zhangsan@example.cn>") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "湖南继续教育平台 <invoice@training.hunan.local>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("张三您好：\n您申请的电子发票已开具，请查收附件。")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="电子发票.pdf")
    return msg


async def send(mc: MailCatcher, msg: EmailMessage, **kwargs: object) -> None:
    await aiosmtplib.send(msg, hostname="127.0.0.1", port=mc.smtp_port, **kwargs)  # type: ignore[arg-type]


async def test_mail_with_chinese_subject_and_pdf_is_listed_and_downloadable(catcher: MailCatcher) -> None:
    await send(catcher, invoice_mail())
    async with httpx.AsyncClient(base_url=catcher.http_url) as http:
        mails = (await http.get("/api/mails")).json()
        assert len(mails) == 1
        mail = mails[0]
        assert mail["subject"] == SUBJECT
        assert mail["from"] == "湖南继续教育平台 <invoice@training.hunan.local>"
        assert mail["to"] == ["张三 <zhangsan@example.cn>"]
        assert mail["attachments"] == [
            {"filename": "电子发票.pdf", "content_type": "application/pdf", "size": len(PDF)}
        ]

        download = await http.get(f"/mails/{mail['id']}/attachments/0")
        assert download.status_code == 200
        assert download.content == PDF
        assert download.headers["content-type"] == "application/pdf"
        assert unquote(download.headers["content-disposition"]).endswith("电子发票.pdf")

        page = (await http.get(f"/mails/{mail['id']}")).text
        assert SUBJECT in page
        assert "您申请的电子发票已开具" in page
        assert f"/mails/{mail['id']}/attachments/0" in page


async def test_inbox_page_lists_newest_first_and_clear_empties_it(catcher: MailCatcher) -> None:
    await send(catcher, invoice_mail(subject="第一封"))
    await send(catcher, invoice_mail(subject="第二封"))
    async with httpx.AsyncClient(base_url=catcher.http_url) as http:
        assert [m["subject"] for m in (await http.get("/api/mails")).json()] == ["第二封", "第一封"]
        page = (await http.get("/")).text
        assert "邮件收件箱（开发用）" in page
        assert page.index("第二封") < page.index("第一封")

        assert (await http.delete("/api/mails")).json() == {"deleted": 2}
        assert (await http.get("/api/mails")).json() == []
        assert "暂无邮件" in (await http.get("/")).text


async def test_bcc_recipients_are_visible(catcher: MailCatcher) -> None:
    await send(catcher, invoice_mail(), recipients=["zhangsan@example.cn", "finance@example.cn"])
    async with httpx.AsyncClient(base_url=catcher.http_url) as http:
        [mail] = (await http.get("/api/mails")).json()
    assert mail["rcpt_to"] == ["zhangsan@example.cn", "finance@example.cn"]


async def test_unknown_mail_and_path_tricks_are_not_found(catcher: MailCatcher) -> None:
    await send(catcher, invoice_mail())
    async with httpx.AsyncClient(base_url=catcher.http_url) as http:
        [mail] = (await http.get("/api/mails")).json()
        assert (await http.get("/mails/..%2F..%2Fetc%2Fpasswd")).status_code == 404
        assert (await http.get("/api/mails/00000000000000000000-00000000")).status_code == 404
        assert (await http.get(f"/mails/{mail['id']}/attachments/1")).status_code == 404


async def test_busy_port_is_named(catcher: MailCatcher, tmp_path: Path) -> None:
    second = MailCatcher(tmp_path / "other", smtp_port=catcher.smtp_port, http_port=0)
    with pytest.raises(PortInUse, match=str(catcher.smtp_port)):
        await second.start()


def test_start_in_thread_for_synchronous_callers(tmp_path: Path) -> None:
    import smtplib

    running = start_in_thread(0, 0, tmp_path / "mail")
    try:
        with smtplib.SMTP("127.0.0.1", running.smtp_port) as smtp:
            smtp.send_message(invoice_mail())
        mails = httpx.get(f"{running.http_url}/api/mails").json()
        assert [m["subject"] for m in mails] == [SUBJECT]
    finally:
        running.stop()
    assert list((tmp_path / "mail").glob("*.eml")), "mails are kept on disk after the catcher stops"
