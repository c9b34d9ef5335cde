"""The suite cannot hang: every child has a deadline and is killed with its own children."""

from __future__ import annotations

import ast
import re
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from processes import run, run_in_terminal

_SLEEPER = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); print('started', flush=True); time.sleep(60)"


def test_a_child_past_its_deadline_is_killed_with_its_children() -> None:
    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match="did not finish within 1 s"):
        run([sys.executable, "-c", _SLEEPER], timeout=1)
    assert time.monotonic() - started < 20
    assert not _sleepers_left()


def test_a_terminal_child_past_its_deadline_is_killed(tmp_path: Path) -> None:
    # intake waits for its first answer for ever; the helper must give up, kill it and say so.
    with pytest.raises(pytest.fail.Exception, match="did not exit within 1 s"):
        run_in_terminal(["intake", "--output", str(tmp_path / "p.yaml")], [], timeout=1)


def test_no_test_starts_a_process_except_through_the_helpers() -> None:
    for path in sorted((ROOT / "tests").glob("*.py")):
        if path.name != "processes.py":
            found = _process_starts(ast.parse(path.read_text(encoding="utf-8")))
            assert not found, f"{path.name} starts processes without a deadline at lines {found}"


def test_the_suite_has_a_per_test_deadline() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r"^timeout = \d+$", text, re.MULTILINE)


def _sleepers_left() -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        mine = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_sleeper(p)]
        if not mine:
            return False
        time.sleep(0.1)
    return True


def _is_sleeper(proc: Path) -> bool:
    try:
        return (
            b"time.sleep(60)" in (proc / "cmdline").read_bytes()
            and b"Z" not in (proc / "stat").read_bytes().split(b")")[-1][:3]
        )
    except OSError:
        return False


_STARTERS = {"fork", "forkpty", "system", "popen", "posix_spawn", "posix_spawnp"}


def _process_starts(tree: ast.Module) -> list[int]:
    modules = {"subprocess", "pty", "multiprocessing"}
    lines = []
    for node in ast.walk(tree):
        imported = (isinstance(node, ast.Import) and any(a.name in modules for a in node.names)) or (
            isinstance(node, ast.ImportFrom) and node.module in modules
        )
        called = (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and (node.attr in _STARTERS or node.attr.startswith(("exec", "spawn")))
        )
        if imported or called:
            lines.append(node.lineno)
    return lines
