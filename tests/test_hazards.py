"""The hazard log names only tests that exist, and every hazard has at least one."""

from __future__ import annotations

import ast
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
