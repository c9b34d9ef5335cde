"""The hazard log names only tests that exist, and every hazard has at least one."""

from __future__ import annotations

import ast
import importlib
import re

from conftest import ROOT

LOG = (ROOT / "docs" / "hazards.md").read_text(encoding="utf-8")


def test_every_hazard_names_existing_tests() -> None:
    rows = [line for line in LOG.splitlines() if re.match(r"^\| H\d+ \|", line)]
    assert len(rows) >= 15
    for row in rows:
        refs = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", row)
        assert refs, row.split("|")[1]
        for file, name in refs:
            tree = ast.parse((ROOT / file).read_text(encoding="utf-8"))
            names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            assert name in names, f"{file}::{name} named in docs/hazards.md does not exist"


def test_every_control_names_code_that_exists() -> None:
    rows = [line.split("|")[4] for line in LOG.splitlines() if re.match(r"^\| H\d+ \|", line)]
    for control in rows:
        for ref in re.findall(r"`([a-z_]+(?:/[a-z_]+)*\.py)`", control):
            assert (ROOT / "src" / "osteocheck" / ref).is_file(), f"{ref} named in docs/hazards.md does not exist"
        for ref in re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`", control):
            assert _exists(ref), f"{ref} named in docs/hazards.md does not exist"


def _exists(ref: str) -> bool:
    """A module of osteocheck, or a name in one."""
    module, _, name = ref.rpartition(".")
    for candidate, attribute in ((ref, None), (module, name)):
        try:
            found = importlib.import_module(f"osteocheck.{candidate}")
        except ModuleNotFoundError:
            continue
        return attribute is None or hasattr(found, attribute)
    return False
