"""Recorded workflow histories for replay tests.

Run a workflow test with RECORD_HISTORIES=1 to (re)write its history file; commit the files.
test_replay.py replays every file against the current workflow code, so a change that would break
running workflows (non-determinism) fails the suite.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import WorkflowHandle

HISTORY_DIR = Path(__file__).parent / "histories"


async def record(handle: WorkflowHandle, name: str) -> None:
    """Saves the finished workflow's history as histories/<name>.json when recording is on."""
    if os.environ.get("RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    HISTORY_DIR.mkdir(exist_ok=True)
    (HISTORY_DIR / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
