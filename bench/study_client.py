"""A lean HTTP/1.1 load client for the study benchmark: one keep-alive connection per player
(`asyncio.open_connection`), request heads built once, and only what the player needs parsed from
an answer (the status line, Content-Length, the body).

Trainees are signed in without the QR flow: the session cookie is forged exactly as Starlette's
SessionMiddleware writes it (base64 of the session's JSON, signed by itsdangerous' TimestampSigner
with the app's secret key), with a CSRF double-submit token of our own in the cookie and the header
(api/security.py compares the two and nothing else).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from base64 import b64encode
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import TimestampSigner

from db.models.users import Role


def session_cookie(secret_key: str, trainee_id: int, school_id: int = 1) -> str:
    """The `session` cookie's value for a signed-in trainee inside the school's platform."""
    data = b64encode(json.dumps({"uid": trainee_id, "role": Role.TRAINEE, "school_id": school_id}).encode("utf-8"))
    return TimestampSigner(str(secret_key)).sign(data).decode("utf-8")


class HttpError(Exception):
    """The connection failed or the answer could not be read (after one retry on a fresh one)."""


class Connection:
    """One browser's keep-alive connection, signed in as `trainee_id`. One request at a time."""

    def __init__(self, base_url: str, secret_key: str, trainee_id: int, school_id: int = 1) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        csrf = secrets.token_urlsafe(16)
        cookie = session_cookie(secret_key, trainee_id, school_id)
        self._common = (
            f"Host: {parts.netloc}\r\nCookie: session={cookie}; csrftoken={csrf}\r\n"
            f"X-CSRF-Token: {csrf}\r\n"
        ).encode("ascii")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._heads: dict[tuple[str, str], bytes] = {}

    def _head(self, method: str, path: str) -> bytes:
        head = self._heads.get((method, path))
        if head is None:
            head = f"{method} {path} HTTP/1.1\r\n".encode("ascii") + self._common
            if method == "POST":
                head += b"Content-Type: application/json\r\nContent-Length: "
            self._heads[(method, path)] = head
        return head

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return await self._send(self._head("POST", path) + str(len(body)).encode("ascii") + b"\r\n\r\n" + body)

    async def get(self, path: str) -> tuple[int, bytes]:
        return await self._send(self._head("GET", path) + b"\r\n")

    async def post_json(self, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, body = await self.post(path, json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return status, _json(status, body)

    async def get_json(self, path: str) -> tuple[int, dict[str, Any]]:
        status, body = await self.get(path)
        return status, _json(status, body)

    async def _send(self, request: bytes) -> tuple[int, bytes]:
        # a kept-alive connection the server has closed meanwhile fails at once: one retry on a new
        # one (every request the player makes is safe to repeat: claims are absolute positions)
        for attempt in (1, 2):
            try:
                if self._writer is None:
                    self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
                assert self._reader is not None
                self._writer.write(request)
                return await _read_answer(self._reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                await self.close()
                if attempt == 2:
                    raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length: int | None = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if length is not None:
        return status, await reader.readexactly(length)
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    return status, b""


def _json(status: int, body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {"code": f"HTTP {status}"}
    return data if isinstance(data, dict) else {"code": f"HTTP {status}"}
