"""Any output encoding and any width: text degrades, nothing fails, and every verdict stays visible."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import ROOT, plan_json
from osteocheck.cli import fastpath
from osteocheck.cli.app import app
from processes import run

PROFILE = str(ROOT / "examples" / "profiles" / "client.yaml")


def osteocheck(*argv: str, **env: str) -> tuple[int, str, str]:
    encoding = env.get("PYTHONIOENCODING", "utf-8")
    result = run([sys.executable, "-m", "osteocheck", *argv], env={**os.environ, **env}, encoding=encoding)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252"])
@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--profile", PROFILE],
        ["plan", "--fracture-history", "--anticoagulants"],
        ["excluded", "--kyphosis"],
        ["explain", "reflexology", "--anticoagulants"],
        ["techniques"],
        ["assess", "--kyphosis"],
        ["selfcare", "--profile", PROFILE],
        ["letter", "--profile", PROFILE],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_non_utf8_output_degrades_instead_of_failing(encoding: str, argv: list[str]) -> None:
    code, out, err = osteocheck(*argv, PYTHONIOENCODING=encoding)
    assert code == 0, err
    assert out.strip()
    assert "\\u" not in out or encoding == "ascii"  # latin-1 and cp1252 hold everything that is shown


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_json_on_a_non_utf8_output_reads_back_as_the_same_names(encoding: str, tmp_path: os.PathLike[str]) -> None:
    profile = os.path.join(tmp_path, "p.json")
    with open(profile, "w", encoding="utf-8") as handle:
        json.dump({"name": "Zoë Ōtake 李", "kyphosis": True}, handle)
    code, out, err = osteocheck("plan", "--profile", profile, "--format", "json", PYTHONIOENCODING=encoding)
    assert code == 0, err
    assert json.loads(out)["profile"]["name"] == "Zoë Ōtake 李"


def shown(argv: list[str], width: int, monkeypatch: pytest.MonkeyPatch) -> str:
    """What the executable prints at `width` columns, in this process: its fast path first, then the full
    command line, as `osteocheck.cli.entry` dispatches (the test below holds the two to the same output)."""
    monkeypatch.setenv("COLUMNS", str(width))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        took = fastpath.run(argv)
    if took:
        return buffer.getvalue()
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    return result.stdout


@functools.cache
def _plan_json(flags: tuple[str, ...]) -> dict[str, Any]:  # the same at every width: asked once
    return plan_json(*flags)


FLAGS = ["--fresh-fracture", "spine", "--anticoagulants", "--kyphosis"]


@pytest.mark.parametrize("width", [10, 14, 20, 28, 34, 40, 59, 60, 80, 120, 300])
@pytest.mark.parametrize("command", ["plan", "excluded", "assess", "techniques"])
def test_every_verdict_is_visible_at_any_width(width: int, command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    flags = [] if command == "techniques" else FLAGS
    squashed = re.sub(r"\s+", "", shown([command, *flags], width, monkeypatch))
    if command == "plan":
        plan = _plan_json(tuple(flags))
        for verdict in plan["techniques"]:
            # A table row names its status once for a group of techniques; a narrow list, before each one.
            shown_as = f"{verdict['status']}{verdict['name']}" if width < 60 else verdict["name"]
            assert re.sub(r"\s+", "", shown_as) in squashed, (width, verdict["name"])
            assert verdict["status"] in squashed
        assert "DONOTTREAT" in squashed
    elif command == "excluded":
        assert "Deeptissuemassage" in squashed and "spine" in squashed
    else:
        assert squashed


@pytest.mark.parametrize("width", [10, 300])
@pytest.mark.parametrize("command", ["plan", "assess"])
def test_the_executable_prints_at_its_terminal_s_width_what_is_checked_above(
    width: int, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = osteocheck(command, *FLAGS, COLUMNS=str(width), NO_COLOR="1")
    assert code == 0, err
    assert out == shown([command, *FLAGS], width, monkeypatch)
