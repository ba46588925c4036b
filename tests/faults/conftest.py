"""Fault tests run the real stack as subprocesses (bench/stack.py) and kill parts of it. They take a
few minutes, so they run on their own: `make test-faults` (= pytest -m faults tests/faults), which
.ci/run calls; a plain `pytest` skips them."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: kill -9 / restart of the real stack's processes (make test-faults)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markexpr = config.getoption("-m") or ""
    if "faults" in markexpr and "not faults" not in markexpr:
        return
    skip = pytest.mark.skip(reason="fault test: run with make test-faults (pytest -m faults)")
    for item in items:
        if item.get_closest_marker("faults"):
            item.add_marker(skip)
