"""Child processes of `make run`, started and stopped as one.

Each child gets its own session (so its own process group): Ctrl-C in the terminal reaches only
the runner, which then stops the children in reverse start order (web before worker before
Temporal), and a child's own children (uvicorn workers, the Temporal UI) go with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn


class StopRequested(Exception):
    """Raised in the main thread by SIGINT/SIGTERM, so any wait in start-up is interrupted too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class ChildFailed(RuntimeError):
    def __init__(self, name: str, returncode: int | None) -> None:
        super().__init__(f"进程 {name} 意外退出（退出码 {returncode}）/ {name} exited unexpectedly "
                         f"(exit code {returncode})")
        self.name = name
        self.returncode = returncode


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None


class Supervisor:
    def __init__(self, cwd: Path | None = None, stop_timeout: float = 10.0,
                 poll_interval: float = 0.2) -> None:
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.poll_interval = poll_interval
        self.children: list[Child] = []


    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> Child:
        process = subprocess.Popen(
            list(argv), cwd=self.cwd, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            # Outside the terminal's foreground group a read from the tty would stop the child.
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        child = Child(name, process)
        self.children.append(child)
        return child

    def run_step(self, name: str, argv: Sequence[str]) -> None:
        """A one-shot command (migrations, seed); tracked like the others so Ctrl-C stops it too."""
        child = self.start(name, argv)
        while child.alive():
            self.check_running(exclude=child)
            time.sleep(self.poll_interval)
        self.children.remove(child)
        if child.process.returncode != 0:
            raise ChildFailed(name, child.process.returncode)

    def check_running(self, exclude: Child | None = None) -> None:
        for child in self.children:
            if child is not exclude and not child.alive():
                raise ChildFailed(child.name, child.process.returncode)

    def watch(self) -> NoReturn:
        """Block until a child dies (raises ChildFailed) or a signal arrives (raises StopRequested)."""
        while True:
            self.check_running()
            time.sleep(self.poll_interval)

    def stop_all(self) -> None:
        # A second Ctrl-C must not abandon the clean-up half way; the kill timeout bounds the wait.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        for child in reversed(self.children):
            # A reaped child's pid may already belong to someone else: only signal live ones.
            if not child.alive():
                continue
            _signal_group(child, signal.SIGTERM)
            try:
                child.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.process.wait()
        self.children.clear()


def supervise(sup: Supervisor, start: Callable[[], None]) -> int:
    """Run `start` (which starts children), then watch them; whatever happens, stop them all.

    Returns the process exit code: 0 after Ctrl-C/SIGTERM, 1 when start-up failed or a child died.
    """
    previous = {signum: signal.signal(signum, _raise_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        start()
        sup.watch()
    except StopRequested:
        print("\n正在停止所有进程… / stopping every process…", flush=True)
        return 0
    except (OSError, RuntimeError) as exc:  # busy port, missing binary, child died, not ready in time
        print(f"\n错误 / error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        sup.stop_all()
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise StopRequested(signum)


def _signal_group(child: Child, signum: int) -> None:
    # start_new_session made the child its group's leader: its pid is the group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.process.pid, signum)
