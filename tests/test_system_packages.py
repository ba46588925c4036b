"""scripts/system-packages.sh (called by `make run` / `make test`), with fake dpkg-query, id and apt-get
on PATH: which packages it finds missing, and what it does as root and as another user."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "system-packages.sh"
RUN = ["python3-venv", "fonts-wqy-microhei", "libpango-1.0-0", "libpangoft2-1.0-0"]


def fake_bin(tmp_path: Path, installed: list[str], uid: int) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    scripts = {
        # dpkg-query -W -f='${Status}' PKG: "install ok installed" for the installed ones only
        "dpkg-query": f'for a in "$@"; do pkg="$a"; done; for p in {" ".join(installed) or "none"}; do '
        '[ "$p" = "$pkg" ] && { printf "install ok installed"; exit 0; }; done; exit 1',
        "id": f"echo {uid}",
        "apt-get": f'echo "$*" >> {log}',
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return bin_dir


def run(tmp_path: Path, mode: str, installed: list[str], uid: int, *extra: str) -> subprocess.CompletedProcess[str]:
    bin_dir = fake_bin(tmp_path, installed, uid)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    return subprocess.run(
        ["bash", str(SCRIPT), mode, *extra], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def apt_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "apt.log"
    return log.read_text().splitlines() if log.exists() else []


def test_nothing_missing_does_nothing(tmp_path: Path) -> None:
    result = run(tmp_path, "test", [*RUN, "chromium", "poppler-utils"], uid=0)
    assert result.returncode == 0, result.stderr
    assert apt_calls(tmp_path) == []


def test_root_installs_exactly_the_missing_packages_after_an_update(tmp_path: Path) -> None:
    result = run(tmp_path, "test", ["python3-venv", "libpango-1.0-0", "libpangoft2-1.0-0"], uid=0)
    assert result.returncode == 0, result.stderr
    assert "installing fonts-wqy-microhei chromium poppler-utils" in result.stdout
    update, install = apt_calls(tmp_path)
    assert update.startswith("update")
    assert install.split()[-3:] == ["fonts-wqy-microhei", "chromium", "poppler-utils"]


def test_run_needs_no_browser_nor_poppler(tmp_path: Path) -> None:
    result = run(tmp_path, "run", RUN, uid=0)
    assert result.returncode == 0, result.stderr
    assert apt_calls(tmp_path) == []


def test_another_user_gets_the_exact_command_and_a_failure(tmp_path: Path) -> None:
    result = run(tmp_path, "run", ["python3-venv"], uid=1000)
    assert result.returncode == 1
    assert (
        "sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends "
        "fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0'" in result.stderr
    )
    assert apt_calls(tmp_path) == []  # never tries apt-get without root


def test_check_only_reports(tmp_path: Path) -> None:
    result = run(tmp_path, "test", RUN, 0, "--check")
    assert result.returncode == 1
    assert "would run: apt-get update && apt-get install -y --no-install-recommends chromium poppler-utils" in (
        result.stdout
    )
    assert apt_calls(tmp_path) == []


@pytest.mark.parametrize("target, mode", [("run", "run"), ("test", "test"), ("test-pg", "test")])
def test_make_targets_call_the_script(target: str, mode: str) -> None:
    dry = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    ).stdout
    assert f"scripts/system-packages.sh {mode}" in dry


def test_ci_runs_only_the_readme_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test\n" in ci and "make test-pg" in ci
    assert "chromium" not in ci and "poppler" not in ci  # the packages are make test's business
