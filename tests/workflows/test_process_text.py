"""Every process an operator can read: each workflow registered in worker.py has a summary, every
start in the web app goes through api/temporal.py (which sets it), and a real order shows its
summary, details and live state the way the Temporal UI reads them."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest
from temporalio import workflow
from temporalio.api.sdk.v1 import WorkflowMetadata

from api.orders_service import order_workflow_id
from domain.process_text import TEXT_OF
from tests.api.test_purchase import checkout, course_ids, pay
from tests.support import enter_school, eventually, login_trainee, make_trainee
from worker import WORKFLOWS

ROOT = Path(__file__).resolve().parent.parent.parent


def run_input_type(cls: type) -> type:
    """The type of the workflow's run argument, as the SDK reads it."""
    arg_types = workflow._Definition.must_from_class(cls).arg_types
    assert arg_types, f"{cls.__name__}.run takes no input"
    return arg_types[0]


@pytest.mark.parametrize("cls", WORKFLOWS, ids=lambda c: c.__name__)
def test_every_registered_workflow_has_a_summary(cls: type) -> None:
    inp = run_input_type(cls)
    assert inp in TEXT_OF, f"{cls.__name__}: add a text for {inp.__name__} to domain/process_text.py"


def test_the_web_app_starts_processes_only_through_the_helper() -> None:
    """A start elsewhere would go without a summary: only api/temporal.py builds the operation."""
    starters = {"WithStartWorkflowOperation", "start_workflow", "execute_workflow"}
    offenders = []
    for path in sorted((ROOT / "api").rglob("*.py")):
        if path.name == "temporal.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in starters:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_child_workflows_carry_a_summary_too() -> None:
    """A workflow that starts another passes its static summary (the refund of a withdrawal)."""
    for path in sorted((ROOT / "workflows").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("start_child_workflow",):
                assert {"static_summary", "static_details"} <= {k.arg for k in node.keywords}, path.name


@pytest.mark.usefixtures("live_server")  # the payment notification comes in over HTTP
async def test_an_order_reads_as_what_it_is_in_the_temporal_ui(
    client: httpx.AsyncClient, temporal_client, sessionmaker, settings
) -> None:
    trainee = await make_trainee(sessionmaker, "读流程学员")
    await login_trainee(client, trainee)
    await enter_school(client)
    [cid] = await course_ids(sessionmaker, "PUB-03")
    resp = await checkout(client, [cid])
    order_no = resp.headers["HX-Redirect"].split("/")[2]
    handle = temporal_client.get_workflow_handle(order_workflow_id(order_no))

    desc = await handle.describe()
    assert await desc.static_summary() == f"订单 {order_no} · {trainee.name} · ¥40.00"
    details = await desc.static_details()
    assert details is not None and "法治政府建设与依法行政（4 学时，¥40.00）" in details

    async def live() -> str | None:
        meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        return meta.current_details or None

    assert await live() == f"订单 {order_no} · {trainee.name} · ¥40.00 · 待支付"
    await pay(client, order_no, settings, sessionmaker)

    async def paid() -> str | None:
        line = await live()
        return line if line and line.endswith("已支付") else None

    assert await eventually(paid) == f"订单 {order_no} · {trainee.name} · ¥40.00 · 已支付"
