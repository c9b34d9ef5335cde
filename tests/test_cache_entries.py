"""The cache can only be slow, never wrong or dangerous: every entry that is not what osteocheck wrote is ignored."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import SHIPPED, plan_json
from osteocheck.parsing import cache
from processes import run_python

DIGEST = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()


def _deep(entry: Path) -> None:
    nested = "[" * 200_000 + "]" * 200_000
    entry.write_text(f'{{"sha256": "{DIGEST}", "marks": [], "data": {nested}}}', encoding="utf-8")


def _shape(entry: Path) -> None:
    entry.write_text(json.dumps({"sha256": DIGEST, "marks": [], "data": {}, "extra": 1}), encoding="utf-8")


def _object(entry: Path) -> None:
    entry.write_text(json.dumps({"sha256": DIGEST, "marks": [], "data": {"rules": [{"x": {"__class__": 1}}] * 3}}))


def _marks(bad: list[object]) -> Callable[[Path], None]:
    return lambda entry: entry.write_text(json.dumps({"sha256": DIGEST, "marks": [bad], "data": {}}))


def _huge(entry: Path) -> None:
    with entry.open("wb") as handle:
        handle.truncate(cache.MAX_ENTRY + 1)  # sparse: no disk used


ENTRIES: dict[str, Callable[[Path], None]] = {
    "link to /dev/zero": lambda e: e.symlink_to("/dev/zero"),
    "fifo": os.mkfifo,
    "folder": lambda e: e.mkdir(),
    "deep nesting": _deep,
    "another shape": _shape,
    "a position's path a mapping": _marks([{"a": 1}, 1, 1]),
    "a position's path holding a list": _marks([["rules", [0]], 1, 1]),
    "a position's line as text": _marks([["rules"], "1", 1]),
    "a position of two numbers": _marks([["rules"], 1]),
    "data of another kind": _object,
    "larger than any real entry": _huge,
    "binary": lambda e: e.write_bytes(b"\x00\xff" * 100),
}


@functools.cache
def fresh() -> dict[str, Any]:
    """The plan with a cache of osteocheck's own making: the same for every entry below, so made once."""
    return plan_json("--kyphosis")


@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_a_hostile_entry_is_ignored_and_the_plan_is_right(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    entry = folder / f"knowledge-{cache.FORMAT}-{cache.__version__}-{DIGEST}.json"
    ENTRIES[kind](entry)
    code = (
        "import os, resource, sys;"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30));"  # a runaway read fails here, not the machine
        f"os.environ['OSTEOCHECK_CACHE_DIR'] = {str(folder)!r};"
        "sys.argv = ['osteocheck', 'plan', '--kyphosis', '--format', 'json'];"
        "from osteocheck.cli.entry import main; main()"
    )
    cached = run_python(code, timeout=60, check=False)
    assert cached.returncode == 0, cached.stderr
    assert json.loads(cached.stdout)["techniques"] == fresh()["techniques"]
    if kind not in ("folder", "fifo"):  # a plain file or link is written afresh with what osteocheck wrote
        assert entry.is_file() and not entry.is_symlink()
        assert json.loads(entry.read_text(encoding="utf-8"))["sha256"] == DIGEST
