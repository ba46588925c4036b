"""The dependency direction of docs/HACKING.md, proven on every import in the tree.

api -> (domain, db, core, temporal client); workflows -> domain; activities -> (domain, db,
gateways, media); worker -> (workflows, activities); nothing below the web layer imports api.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

IO_LAYERS = {"db", "api", "activities", "gateways", "media", "core", "runner", "worker", "mailcatcher"}
IO_LIBRARIES = {"sqlalchemy", "fastapi", "starlette", "httpx", "aiosmtplib", "av", "weasyprint", "alembic"}

# layer -> the top-level modules it must never import
FORBIDDEN: dict[str, set[str]] = {
    "workflows": IO_LAYERS | IO_LIBRARIES,
    "domain": IO_LAYERS | IO_LIBRARIES | {"workflows", "temporalio"},
    "activities": {"api", "runner", "worker"},
    "db": {"api", "activities", "workflows", "runner", "worker"},
    "gateways": {"api", "activities", "workflows", "runner", "worker"},
    "media": {"api", "activities", "workflows", "db", "runner", "worker"},
    "core": {"api", "activities", "workflows", "db", "runner", "worker"},
}


def imported_modules(source: Path) -> set[str]:
    """Top-level names of every import in the file, also those inside functions and `with` blocks."""
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def layer_files(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    files = layer_files(layer)
    assert files, f"no module under {layer}/"
    breaches = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in imported_modules(path) & FORBIDDEN[layer]
    }
    assert sorted(breaches) == []


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from api.deps import SessionDep\n    import sqlalchemy.orm\n")
    assert imported_modules(probe) == {"api", "sqlalchemy"}


def names_upload_file(source: Path) -> bool:
    """Whether the file imports UploadFile (from fastapi or starlette) or reaches it as an attribute."""
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(alias.name == "UploadFile" for alias in node.names):
            return True
        if isinstance(node, ast.Attribute) and node.attr == "UploadFile":
            return True
    return False


def test_only_the_routers_and_the_upload_reader_see_upload_files() -> None:
    """Services take bytes or a saved file (api/uploads.py): no web type below the routers."""
    allowed = {ROOT / "api" / "uploads.py"}
    breaches = [
        str(path.relative_to(ROOT))
        for path in layer_files("api")
        if path not in allowed and "routers" not in path.relative_to(ROOT / "api").parts and names_upload_file(path)
    ]
    assert breaches == []


def test_the_upload_check_sees_every_spelling(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    for text in ("from fastapi import File, UploadFile\n", "import fastapi\nx: fastapi.UploadFile\n"):
        probe.write_text(text)
        assert names_upload_file(probe), text
    probe.write_text("from api.uploads import Upload\n")
    assert not names_upload_file(probe)
