"""Port checks: refuse to start over a busy port, and wait until a child listens on its port."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from mailcatcher.server import PortInUse


def host_port(url_or_address: str, default_port: int) -> tuple[str, int]:
    """`http://127.0.0.1:8000` or `127.0.0.1:7233` -> ("127.0.0.1", port)."""
    text = url_or_address if "//" in url_or_address else f"//{url_or_address}"
    parts = urlsplit(text)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def ensure_free(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option the servers use, so a port in TIME_WAIT after the last run counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUse(port, what) from exc


def is_listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, what: str, timeout: float, check: Callable[[], None]) -> None:
    """`check` raises when a child died meanwhile, so the error names the real culprit."""
    deadline = time.monotonic() + timeout
    while not is_listening(host, port):
        check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} 在 {timeout:.0f} 秒内未监听 {host}:{port} / not listening in time")
        time.sleep(0.2)
