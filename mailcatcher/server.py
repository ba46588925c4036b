"""SMTP listener and inbox web page, both on one asyncio event loop.

`MailCatcher` is the piece tests use in-process (ports may be 0 = any free port); `serve()` is what
`python -m mailcatcher` runs; `start_in_thread()` is for synchronous callers (browser tests).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from mailcatcher.store import MailStore
from mailcatcher.web import create_app


class _StoreHandler:
    """aiosmtpd handler: every accepted message becomes one .eml file."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.store.save(raw, rcpt_to=list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def _accept_any_login(*_args: Any) -> AuthResult:
    # A development catcher: if SMTP_USER is set for a real relay, logging in here must not fail.
    return AuthResult(success=True)


class PortInUse(OSError):
    def __init__(self, port: int, what: str) -> None:
        super().__init__(f"端口 {port} 已被占用（{what}）/ port {port} is already in use ({what})")
        self.port = port


class MailCatcher:
    def __init__(self, mail_dir: Path, *, host: str = "127.0.0.1", smtp_port: int = 1025,
                 http_port: int = 8025) -> None:
        self.store = MailStore(mail_dir)
        self.host = host
        self.smtp_port = smtp_port
        self.http_port = http_port
        self._smtp: asyncio.Server | None = None
        self._http: uvicorn.Server | None = None
        self._http_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        handler = _StoreHandler(self.store)
        try:
            self._smtp = await loop.create_server(
                lambda: SMTP(handler, enable_SMTPUTF8=True, auth_require_tls=False,
                             authenticator=_accept_any_login, loop=loop),
                self.host, self.smtp_port,
            )
        except OSError as exc:
            raise PortInUse(self.smtp_port, "SMTP") from exc
        self.smtp_port = self._smtp.sockets[0].getsockname()[1]
        # Binding the socket ourselves turns "address in use" into an exception we can word,
        # instead of uvicorn logging and calling sys.exit.
        sock = _bind(self.host, self.http_port, "mail web page")
        self.http_port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(self.store), log_level="warning", lifespan="off")
        self._http = uvicorn.Server(config)
        self._http_task = asyncio.create_task(self._http.serve(sockets=[sock]))
        while not self._http.started:
            if self._http_task.done():
                await self._http_task  # re-raises the start-up error
            await asyncio.sleep(0.01)

    async def wait(self) -> None:
        """Until the web server stops (on SIGINT/SIGTERM uvicorn stops it)."""
        if self._http_task is not None:
            await self._http_task

    async def stop(self) -> None:
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            await self._http_task
        if self._smtp is not None:
            self._smtp.close()
            await self._smtp.wait_closed()

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"


def _bind(host: str, port: int, what: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(port, what) from exc
    return sock


async def serve(smtp_port: int, http_port: int, mail_dir: Path, host: str = "127.0.0.1") -> None:
    catcher = MailCatcher(mail_dir, host=host, smtp_port=smtp_port, http_port=http_port)
    await catcher.start()
    print(f"邮件收件箱 / mail catcher: SMTP {host}:{catcher.smtp_port}, 网页 / page {catcher.http_url}",
          flush=True)
    try:
        await catcher.wait()
    finally:
        await catcher.stop()


class ThreadedMailCatcher:
    """A MailCatcher running on its own event loop in a daemon thread."""

    def __init__(self, catcher: MailCatcher, loop: asyncio.AbstractEventLoop,
                 thread: threading.Thread) -> None:
        self.catcher = catcher
        self._loop = loop
        self._thread = thread

    @property
    def smtp_port(self) -> int:
        return self.catcher.smtp_port

    @property
    def http_url(self) -> str:
        return self.catcher.http_url

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.catcher.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def start_in_thread(smtp_port: int, http_port: int, mail_dir: Path,
                    host: str = "127.0.0.1") -> ThreadedMailCatcher:
    """Start and return once both ports listen; ports may be 0. Call `.stop()` when done."""
    catcher = MailCatcher(mail_dir, host=host, smtp_port=smtp_port, http_port=http_port)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="mailcatcher", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(catcher.start(), loop).result(timeout=10)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        raise
    return ThreadedMailCatcher(catcher, loop, thread)
