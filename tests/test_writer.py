"""Exports never clobber without --force, write atomically, and leave nothing behind on failure."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osteocheck.cli.app import app
from osteocheck.errors import OutputError
from osteocheck.writer import output, write_text


def test_no_clobber_without_force(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    write_text(str(target), "one", force=False)
    with pytest.raises(OutputError, match="already exists; use --force to overwrite it"):
        write_text(str(target), "two", force=False)
    assert target.read_text(encoding="utf-8") == "one"
    write_text(str(target), "three", force=True)
    assert target.read_text(encoding="utf-8") == "three"


def test_failed_export_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), output(str(target), force=True) as handle:
        handle.write("partial")
        raise RuntimeError("interrupted")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


@pytest.mark.parametrize(
    "argv",
    [["plan"], ["selfcare"], ["assess"], ["letter"], ["batch", "roster.jsonl"], ["intake", "-o", "-"], ["config"]],
)
def test_force_that_would_overwrite_nothing_is_refused(runner: CliRunner, argv: list[str]) -> None:
    result = runner.invoke(app, [*argv, "--force"])
    wanted = "--init only" if argv == ["config"] else "--output FILE only; nothing is overwritten on the screen"
    assert result.exit_code == 2 and result.stderr == f"osteocheck: --force applies to {wanted}\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing/a.md", "the folder"), (".", "is a folder")],
)
def test_bad_targets(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(OutputError, match=message):
        write_text(str(tmp_path / name), "x", force=False)


def test_racing_writers_one_wins_and_no_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "race.md"
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def export(i: int) -> None:
        barrier.wait()
        try:
            write_text(str(target), f"writer {i}\n" * 1000, force=False)
            outcomes.append("won")
        except OutputError:
            outcomes.append("refused")

    threads = [threading.Thread(target=export, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["won"]
    text = target.read_text(encoding="utf-8")
    assert len(set(text.splitlines())) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["race.md"]
