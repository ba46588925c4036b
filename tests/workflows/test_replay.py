"""Every workflow replays its recorded histories deterministically, and every workflow has one."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.workflows.histories import HISTORY_DIR
from worker import WORKFLOWS

HISTORIES = sorted(HISTORY_DIR.glob("*.json"))


def workflow_type(path) -> str:
    events = json.loads(path.read_text(encoding="utf-8"))["events"]
    return events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]


def test_every_workflow_has_a_recorded_history() -> None:
    recorded = {workflow_type(p) for p in HISTORIES}
    missing = {w.__name__ for w in WORKFLOWS} - recorded
    assert not missing, f"record a history for {missing} (RECORD_HISTORIES=1)"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    await Replayer(workflows=WORKFLOWS).replay_workflow(history)
