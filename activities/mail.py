"""E-mail over SMTP (aiosmtplib): the embedded default is the local mail catcher (`make run` starts it
on settings.smtp_port); production points the smtp_* settings at a real relay.

A connection or server fault is retried (the activity's retry policy); an address the server refuses
for good (SMTP 5xx on RCPT) is not: the workflow then marks the invoice 已开票 anyway, and the
trainee downloads it from 我的发票. Sending is at-least-once: a retry after a send whose
acknowledgement was lost sends the mail again. The Message-ID is derived from the invoice number,
so mail clients show such a repeat as one mail.

`send_mail` and `invoice_mail` serve the unit invoice's mail too (activities/unit_invoice.py).
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

import aiosmtplib
from temporalio import activity
from temporalio.exceptions import ApplicationError

from config import Settings
from domain.catalog import format_money
from domain.personal_invoice import InvoiceMail

SENDER_NAME = "湖南省事业单位人员培训平台"
MAIL_REJECTED = "MailRejected"


class MailActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn(name="mail.send_invoice")
    async def send_invoice(self, mail: InvoiceMail) -> None:
        pdf = (self.settings.files_dir / mail.pdf_path).read_bytes()
        await send_mail(self.settings, invoice_message(self.settings, mail, pdf))

    def all(self) -> list[Callable[..., Any]]:
        return [self.send_invoice]


async def send_mail(settings: Settings, msg: EmailMessage) -> None:
    try:
        await aiosmtplib.send(
            msg,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user or None,
            password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls,
            timeout=20,
        )
    except aiosmtplib.SMTPRecipientsRefused as err:
        # the server will never take this address (5xx): retrying cannot help
        raise ApplicationError(f"收件地址被拒绝：{msg['To']}", type=MAIL_REJECTED, non_retryable=True) from err


def invoice_mail(settings: Settings, *, to: str, invoice_no: str, subject: str, body: str, pdf: bytes) -> EmailMessage:
    """An 电子发票 mail with the PDF named after the invoice number; the Message-ID, derived from the
    number too, makes a repeated send (a retry) show as one mail."""
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    msg["From"] = formataddr((SENDER_NAME, settings.mail_from))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = f"<invoice-{invoice_no}@{domain}>"
    msg.set_content(body)
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"电子发票-{invoice_no}.pdf")
    return msg


def invoice_message(settings: Settings, mail: InvoiceMail, pdf: bytes) -> EmailMessage:
    """The personal 电子发票 mail: a short Chinese text and the PDF."""
    seller = f"，销售方：{mail.seller_name}" if mail.seller_name else ""
    return invoice_mail(
        settings,
        to=mail.to,
        invoice_no=mail.invoice_no,
        subject=f"电子发票已开具（发票号码 {mail.invoice_no}）",
        body=(
            f"{mail.buyer_title}，您好：\n\n"
            f"您申请的电子发票已开具{seller}。\n"
            f"发票号码：{mail.invoice_no}\n"
            f"价税合计：{format_money(mail.amount_cents)}\n"
            f"申请编号：{mail.application_no}\n\n"
            "电子发票见附件（PDF），也可在 个人中心 → 支付中心 → 我的发票 中下载。\n\n"
            f"{SENDER_NAME}\n（本邮件由系统自动发送，请勿回复）\n"
        ),
        pdf=pdf,
    )
