"""The docs stand alone: every repository path they name exists, and none points outside the repo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP = "api|activities|bench|db|deploy|docs|domain|gateways|mailcatcher|media|runner|scripts|tests|web|workflows"
# A backticked token that starts with a top-level folder of this repository, without placeholders.
PATH = re.compile(rf"`((?:{TOP})/[\w./-]*)`")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_path_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = sorted(
        {p for p in PATH.findall(text) if "*" not in p and not (ROOT / p.split("::")[0]).exists()}
    )
    assert missing == [], f"{doc.name} names paths that are not in the repository: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_doc_points_outside_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert "../shared" not in text and "/work/" not in text, doc.name
