"""`make run`: the Temporal command line, and that stopping the runner stops everything it started."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from mailcatcher.server import PortInUse
from runner.banner import banner
from runner.ports import ensure_free, host_port
from runner.processes import Supervisor, supervise
from runner.temporal_server import (
    SEARCH_ATTRIBUTES,
    DevServer,
    dev_server_command,
    is_ready,
    temporal_binary,
)

ROOT = Path(__file__).resolve().parent.parent
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[1].startswith("Z"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dev_server_command_persists_state_and_registers_search_attributes() -> None:
    server = DevServer(db_file=Path("var/temporal.db"))
    command = dev_server_command(server, binary=Path("/venv/bin/temporal"))
    assert command[:3] == ["/venv/bin/temporal", "server", "start-dev"]
    flags = dict(zip(command[3:15:2], command[4:15:2], strict=True))
    assert flags == {
        "--db-filename": "var/temporal.db", "--ip": "127.0.0.1", "--port": "7233", "--ui-port": "8233",
        "--namespace": "default", "--log-level": "error",
    }
    pairs = [command[i + 1] for i, arg in enumerate(command) if arg == "--search-attribute"]
    assert pairs == [f"{name}=Keyword" for name in SEARCH_ATTRIBUTES]
    assert set(SEARCH_ATTRIBUTES) >= {"TraineeId", "SchoolId", "OrderNo", "ProcessStatus", "BusinessKey"}


def test_temporal_binary_comes_from_the_venv() -> None:
    assert temporal_binary() == Path(sys.executable).parent / "temporal"


async def test_dev_server_starts_with_this_command_line_and_keeps_data(tmp_path: Path) -> None:
    """The real binary accepts our flags, registers the search attributes, and reuses its db file."""
    server = DevServer(db_file=tmp_path / "temporal.db", port=free_port(), ui_port=free_port())
    namespace_ids = []
    for _ in range(2):  # second start = second `make run` on the same var/
        sup = Supervisor(stop_timeout=10)
        child = sup.start("temporal", dev_server_command(server))
        try:
            deadline = time.monotonic() + 60
            while not await is_ready(server):
                assert child.alive(), "temporal dev server exited"
                assert time.monotonic() < deadline, "temporal dev server not ready in 60 s"
                await asyncio.sleep(0.3)
            client = await Client.connect(server.address)
            described = await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace="default")
            )
            namespace_ids.append(described.namespace_info.id)
        finally:
            sup.stop_all()
        assert not child.alive()
    # An in-memory server would create a fresh namespace (new id) on every start.
    assert namespace_ids[0] == namespace_ids[1]


def run_supervisor_script(body: str) -> subprocess.Popen[str]:
    script = textwrap.dedent(
        """
        import sys
        from runner.processes import Supervisor, supervise
        sup = Supervisor(stop_timeout=3, poll_interval=0.05)
        SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
        def start():
        """
    ) + textwrap.indent(textwrap.dedent(body), "    ") + "\nsys.exit(supervise(sup, start))\n"
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_every_child(signum: int) -> None:
    runner = run_supervisor_script(
        """
        for name in ("temporal", "worker", "web"):
            print(sup.start(name, SLEEPER).process.pid, flush=True)
        """
    )
    assert runner.stdout is not None
    pids = [int(runner.stdout.readline()) for _ in range(3)]
    assert all(alive(pid) for pid in pids)

    runner.send_signal(signum)
    assert runner.wait(timeout=15) == 0
    assert not any(alive(pid) for pid in pids)


def test_a_dying_child_stops_the_rest_and_is_named() -> None:
    runner = run_supervisor_script(
        """
        print(sup.start("web", SLEEPER).process.pid, flush=True)
        sup.start("worker", [sys.executable, "-c", "import time, sys; time.sleep(0.3); sys.exit(3)"])
        """
    )
    stdout, stderr = runner.communicate(timeout=15)
    assert runner.returncode == 1
    assert "worker" in stderr and "3" in stderr
    assert not alive(int(stdout.split()[0]))


def test_child_ignoring_sigterm_is_killed_after_the_timeout() -> None:
    sup = Supervisor(stop_timeout=0.5)
    stubborn = sup.start("stubborn", [
        sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ok', flush=True); "
        "time.sleep(60)",
    ])
    time.sleep(0.5)  # let it install its handler
    started = time.monotonic()
    sup.stop_all()
    assert not stubborn.alive()
    assert stubborn.process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_failed_start_stops_what_was_already_started(capsys: pytest.CaptureFixture[str]) -> None:
    sup = Supervisor(stop_timeout=3)
    started: list[int] = []

    def start() -> None:
        started.append(sup.start("temporal", SLEEPER).process.pid)
        raise PortInUse(8000, "web")

    assert supervise(sup, start) == 1
    assert "8000" in capsys.readouterr().err
    assert not alive(started[0])


def test_busy_port_is_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUse, match=f"{port}.*web"):
            ensure_free("127.0.0.1", port, "web")


def test_ports_come_from_the_settings_urls() -> None:
    assert host_port("http://127.0.0.1:8000", 80) == ("127.0.0.1", 8000)
    assert host_port("127.0.0.1:7233", 1) == ("127.0.0.1", 7233)
    assert host_port("http://localhost", 8025) == ("localhost", 8025)


def test_banner_shows_urls_and_demo_accounts() -> None:
    text = banner("http://127.0.0.1:8000", "http://127.0.0.1:8233", "http://127.0.0.1:8025",
                  [{"role": "学员", "login": "430100199001011234", "password": "demo1234", "name": "张三"}])
    for expected in ("http://127.0.0.1:8000", "http://127.0.0.1:8233", "http://127.0.0.1:8025",
                     "430100199001011234", "demo1234", "张三", "Ctrl-C"):
        assert expected in text
