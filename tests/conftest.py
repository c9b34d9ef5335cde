"""Shared fixtures: the shipped knowledge, a pinned terminal, and a CLI runner."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import typer.testing
from typer.testing import CliRunner

from osteocheck.cli.app import app
from osteocheck.client.profile import build
from osteocheck.client.records.derive import load_code_map
from osteocheck.engine.model import Knowledge, Profile
from osteocheck.knowledge import loader as knowledge_module

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "osteoporosis.yaml"
SOURCE_TEXT = ROOT / "data" / "sources" / "000_360acb9329b9f714.txt"

# Rich output is pinned: no colour, fixed width, no terminal detection.
os.environ.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "100"})
os.environ.pop("OSTEOCHECK_RULES", None)
os.environ.pop("OSTEOCHECK_NO_CACHE", None)
os.environ["OSTEOCHECK_CACHE_DIR"] = tempfile.mkdtemp(prefix="osteocheck-test-cache-")
os.environ.pop("FORCE_COLOR", None)
# typer's runner makes the command line again from the app on every call (two thirds of a call's time
# here); the installed command makes it once a process, and so do the tests.
typer.testing._get_command = functools.cache(typer.testing._get_command)
# No one's own settings may change what the tests see: a config file that does not exist.
os.environ["OSTEOCHECK_CONFIG"] = str(Path(os.environ["OSTEOCHECK_CACHE_DIR"]) / "no-config.toml")


@pytest.fixture
def kb() -> Knowledge:
    # Loaded in each test (a few ms with the parse cache), so a test exercises the loader it relies on.
    return knowledge_module.load(SHIPPED)


def profile(kb: Knowledge, **raw: object) -> Profile:
    return build(raw, kb, usage=True)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def as_raw(p: Mapping[str, object]) -> dict[str, object]:
    return dict(p)


def mapped(section: str, **wanted: object) -> dict[str, Any]:
    """As a record would code it, the first whole code of the shipped code map whose entry has `wanted`
    (None: lacks the key): a test takes its codes from the map, never typing one."""
    codes = load_code_map()
    entry = next(e for e in codes.entries(section) if all(e.get(k) == v for k, v in {"prefix": None, **wanted}.items()))
    return {"coding": [{"system": codes.systems[entry["system"]], "code": entry["code"]}]}


def plan_json(*argv: str, stdin: str | None = None, form: str = "json") -> dict[str, Any]:
    """`osteocheck plan ... --format json` (or `fhir`), in this process."""
    result = CliRunner().invoke(app, ["plan", *argv, "--format", form], input=stdin)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker reads `-n` from addopts too, so pytest-cov also starts a main process's coverage in it.

    That coverage resumes whenever the worker's own pauses, so `no_cover` tests were traced all the same
    (the lattice took three times as long). It measures nothing the worker's does not: stop it.
    """
    controller = getattr(config.pluginmanager.getplugin("_cov"), "cov_controller", None)
    if hasattr(config, "workerinput") and controller is not None:  # the worker's own starts at session start
        controller.cov.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`no_cover` only means something while coverage runs: with --no-cov, pytest-cov would fail on it."""
    if config.getoption("no_cov", default=False):
        for item in items:
            item.own_markers = [m for m in item.own_markers if m.name != "no_cover"]
