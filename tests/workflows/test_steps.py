"""Workflows call activities by reference: each declaration matches an activity the worker runs."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio import activity

import workflows
from config import Settings
from worker import build_activities

WORKFLOWS_DIR = Path(workflows.__file__).parent


def declared_steps() -> dict[str, Callable[..., Any]]:
    """Every @activity.defn that a workflow module or workflows/steps/ declares, by activity name."""
    found: dict[str, Callable[..., Any]] = {}
    for info in pkgutil.walk_packages(workflows.__path__, "workflows."):
        module = importlib.import_module(info.name)
        for _, fn in inspect.getmembers(module, inspect.isfunction):
            defn = activity._Definition.from_callable(fn)
            if defn is not None and fn.__module__ == module.__name__:
                found[str(defn.name)] = fn
    return found


def registered_activities() -> dict[str, Callable[..., Any]]:
    acts = build_activities(None, None, Settings())  # type: ignore[arg-type]  # only the names are read
    return {str(activity._Definition.must_from_callable(fn).name): fn for fn in acts}


def signature(fn: Callable[..., Any]) -> tuple[list[Any], Any]:
    hints = typing.get_type_hints(fn)
    params = [hints[p] for p in inspect.signature(fn).parameters if p != "self"]
    return params, hints.get("return")


def test_there_are_declarations_to_check() -> None:
    assert {"orders.apply_payment", "tasks.open", "hours.apply_review"} <= set(declared_steps())


def test_every_declared_step_is_registered_by_the_worker_with_its_signature() -> None:
    registered = registered_activities()
    for name, declared in declared_steps().items():
        assert name in registered, f"the worker registers no activity {name!r}"
        assert signature(declared) == signature(registered[name]), f"{name}: declaration differs"


def test_no_workflow_calls_an_activity_by_its_name_string() -> None:
    offenders = []
    for path in sorted(WORKFLOWS_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"execute_activity", "execute_local_activity", "start_activity"}
                and node.args
                and isinstance(node.args[0], ast.Constant | ast.JoinedStr)
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
