"""The CSRF double-submit cookie (password hashing is in core/passwords.py)."""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Signed server-to-server callbacks are authenticated by their signature instead.
# The simulated providers' APIs (/paysim/alipay, /paysim/wechat) likewise: they check the merchant's
# request signatures, as the real providers do.
CSRF_EXEMPT_PREFIXES = ("/payments/notify", "/paysim/alipay/", "/paysim/wechat/")

class CSRFCookieMiddleware:
    """Gives every browser a random CSRF token cookie and exposes it as scope["csrf_token"]."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _cookie_from_scope(scope, CSRF_COOKIE)
        fresh = not token
        if fresh:
            token = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                cookie = f"{CSRF_COOKIE}={token}; Path=/; SameSite=Lax"
                message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie_from_scope(scope: Scope, name: str) -> str:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            jar.load(value.decode("latin-1"))
            if name in jar:
                return jar[name].value
    return ""


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: an unsafe request must echo the cookie's token in a header or form field."""
    if request.method in SAFE_METHODS or request.url.path.startswith(CSRF_EXEMPT_PREFIXES):
        return
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # cached on the request; the endpoint reads it again for free
        given = str(form.get(CSRF_FIELD, ""))
    if not expected or not secrets.compare_digest(expected, given):
        raise HTTPException(status_code=403, detail="页面已过期，请刷新后重试")
