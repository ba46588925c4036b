"""The inbox page on :8025 and the JSON API the tests read.

Plain f-string HTML with `html.escape`: two small pages do not justify a template folder, and the
catcher stays independent of the app's templates.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from html import escape
from urllib.parse import quote

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response

from mailcatcher.store import (
    MailNotFound,
    MailStore,
    MailSummary,
    attachment_bytes,
    attachment_parts,
    html_body,
    summarize,
    text_body,
)

TITLE = "邮件收件箱（开发用）"
EMPTY = "暂无邮件"
# China has no daylight saving time; a fixed offset avoids depending on tzdata being installed.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

_STYLE = """
body{font-family:"WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}
pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}iframe{width:100%;height:30rem;border:1px solid #ddd}
"""


def create_app(store: MailStore) -> FastAPI:
    app = FastAPI(title=TITLE, docs_url=None, redoc_url=None, openapi_url=None)

    def message_or_404(mail_id: str) -> EmailMessage:
        try:
            return store.message(mail_id)
        except MailNotFound:
            raise HTTPException(404, "邮件不存在") from None

    @app.get("/", response_class=HTMLResponse)
    def inbox() -> str:
        return _page(TITLE, _inbox_table(store.summaries()))

    @app.get("/mails/{mail_id}", response_class=HTMLResponse)
    def mail_page(mail_id: str) -> str:
        msg = message_or_404(mail_id)
        mail = summarize(mail_id, msg)
        return _page(mail.subject or "（无主题）", _mail_detail(mail, text_body(msg), html_body(msg)))

    @app.get("/mails/{mail_id}/attachments/{n}")
    def attachment(mail_id: str, n: int) -> Response:
        parts = attachment_parts(message_or_404(mail_id))
        if not 0 <= n < len(parts):
            raise HTTPException(404, "附件不存在")
        part = parts[n]
        filename = part.get_filename() or "attachment.bin"
        # RFC 6266/5987: Chinese file names need the UTF-8 `filename*` form.
        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        return Response(
            attachment_bytes(part),
            media_type=part.get_content_type(),
            headers={"Content-Disposition": disposition},
        )

    @app.get("/mails/{mail_id}/raw")
    def raw(mail_id: str) -> Response:
        message_or_404(mail_id)
        return Response(store.raw(mail_id), media_type="message/rfc822")

    @app.get("/api/mails")
    def list_mails() -> list[dict[str, object]]:
        return [mail.as_json() for mail in store.summaries()]

    @app.get("/api/mails/{mail_id}")
    def get_mail(mail_id: str) -> dict[str, object]:
        msg = message_or_404(mail_id)
        return {**summarize(mail_id, msg).as_json(), "text": text_body(msg), "html": html_body(msg)}

    @app.delete("/api/mails")
    def clear() -> dict[str, int]:
        return {"deleted": store.clear()}

    return app


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><p><a href="/">{TITLE}</a></p>{body}</body></html>'
    )


def _inbox_table(mails: list[MailSummary]) -> str:
    if not mails:
        return f"<h1>{TITLE}</h1><p>{EMPTY}</p>"
    rows = "".join(
        f"<tr><td>{_local_time(m.date)}</td><td>{escape(m.from_)}</td>"
        f"<td>{escape(', '.join(m.to or m.rcpt_to))}</td>"
        f'<td><a href="/mails/{m.id}">{escape(m.subject or "（无主题）")}</a></td>'
        f"<td>{len(m.attachments) or ''}</td></tr>"
        for m in mails
    )
    return (
        f"<h1>{TITLE}</h1><p>共 {len(mails)} 封</p><table><thead><tr><th>时间</th><th>发件人</th>"
        f"<th>收件人</th><th>主题</th><th>附件</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _mail_detail(mail: MailSummary, text: str, html_source: str) -> str:
    links = "".join(
        f'<li><a href="/mails/{mail.id}/attachments/{n}">{escape(a.filename)}</a>'
        f" （{escape(a.content_type)}，{a.size} 字节）</li>"
        for n, a in enumerate(mail.attachments)
    )
    parts = [
        f"<h1>{escape(mail.subject or '（无主题）')}</h1>",
        f"<p>发件人：{escape(mail.from_)}<br>收件人：{escape(', '.join(mail.to or mail.rcpt_to))}"
        f"<br>时间：{_local_time(mail.date)}</p>",
        f"<h2>正文</h2><pre>{escape(text)}</pre>" if text else "",
        # The HTML part is shown sandboxed: no scripts, no access to this page.
        f'<h2>HTML 正文</h2><iframe sandbox srcdoc="{escape(html_source)}"></iframe>' if html_source else "",
        f"<h2>附件</h2><ul>{links}</ul>" if links else "",
        f'<p><a href="/mails/{mail.id}/raw">下载原始邮件（.eml）</a></p>',
    ]
    return "".join(parts)


def _local_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
