"""Batch never loses a row for one bad row, reads its input once, and stays bounded whatever the input."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from typer.testing import CliRunner

from osteocheck.cli.app import app
from processes import run, run_in_terminal

GOOD = b'{"id": "A", "kyphosis": true}\n'
LAST = b'{"id": "Z", "anticoagulants": true}\n'


def screen(tmp_path: Path, data: bytes, suffix: str = ".jsonl", *extra: str) -> tuple[int, list[str], str]:
    source = tmp_path / f"rows{suffix}"
    source.write_bytes(data)
    result = CliRunner().invoke(app, ["batch", str(source), *extra])
    return result.exit_code, result.stdout.splitlines(), result.stderr


def test_a_row_not_in_utf8_is_that_rows_error(tmp_path: Path) -> None:
    code, lines, err = screen(tmp_path, GOOD + '{"id": "B", "name": "Zoë"}\n'.encode("cp1252") + LAST)
    assert code == 1
    assert [json.loads(line)["id"] for line in lines] == ["A", None, "Z"]
    assert json.loads(lines[1])["error"] == "not UTF-8 text (byte 0xeb at column 24); save the file as UTF-8"
    assert "row 2: not UTF-8 text" in err and "1 failed" in err


def test_an_oversized_csv_cell_is_that_rows_error(tmp_path: Path) -> None:
    data = b"id,name,kyphosis\nC1,Ann,yes\nC2," + b"A" * 200_000 + b",yes\nC3,Cid,yes\n"
    code, lines, _ = screen(tmp_path, data, ".csv")
    assert code == 1
    assert [json.loads(line)["id"] for line in lines] == ["C1", None, "C3"]
    assert "field larger than field limit" in json.loads(lines[1])["error"]


def test_an_overlong_line_is_skipped_and_the_next_is_read(tmp_path: Path) -> None:
    code, lines, _ = screen(tmp_path, GOOD + b'{"id": "' + b"x" * (1024 * 1024 + 10) + b'"}\n' + LAST)
    assert code == 1
    assert [json.loads(line)["id"] for line in lines] == ["A", None, "Z"]
    assert json.loads(lines[1])["error"] == "line longer than 1,048,576 bytes; skipped"


def test_a_deeply_nested_row_is_that_rows_error(tmp_path: Path) -> None:
    code, lines, _ = screen(tmp_path, GOOD + b"[" * 100_000 + b"\n" + LAST)
    assert code == 1
    assert json.loads(lines[1])["error"] == "not a profile: JSON nested too deeply"
    assert json.loads(lines[2])["id"] == "Z"


def test_a_wide_header_is_checked_in_linear_time(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(100_000)).encode()
    started = time.monotonic()
    code, lines, _ = screen(tmp_path, header + b"\n" + b",".join([b"x"] * 100_000) + b"\n", ".csv")
    assert code == 1 and len(lines) == 1
    assert time.monotonic() - started < 20  # it took minutes when each column was counted against all others


def test_stderr_stays_short_however_many_rows_fail(tmp_path: Path) -> None:
    code, lines, err = screen(tmp_path, b'{"kyphosis": "maybe"}\n' * 500)
    assert code == 1 and len(lines) == 500
    assert len(err.splitlines()) <= 23
    assert "... and 480 more failed row(s)" in err


def test_one_profile_with_thousands_of_errors_gives_a_few_lines(tmp_path: Path) -> None:
    profile = tmp_path / "many.json"
    profile.write_text(json.dumps({"open_wounds": [f"nowhere{i}" for i in range(50_000)]}), encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", "--profile", str(profile)])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) <= 12
    assert "... and 49,990 more problem(s) like these" in result.stderr


def test_an_input_that_never_ends_a_line_stops_with_an_error() -> None:
    result = run([sys.executable, "-m", "osteocheck", "batch", "/dev/zero"], timeout=60)
    assert result.returncode == 1
    assert "with no end: this input is not a roster" in result.stderr


def test_standard_input_and_a_fifo_are_read_once_on_a_terminal(tmp_path: Path) -> None:
    rows = GOOD * 20
    fifo = tmp_path / "rows.jsonl"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as handle:  # blocks until osteocheck opens the FIFO
            handle.write(rows)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    code, seen = run_in_terminal(["batch", str(fifo), "-o", str(tmp_path / "out.jsonl")], [], timeout=30)
    writer.join(timeout=5)
    assert code == 0, seen
    assert "20 row(s) screened" in seen
    assert len((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()) == 20
    piped = run([sys.executable, "-m", "osteocheck", "batch", "-"], input=rows.decode())
    assert piped.returncode == 0 and len(piped.stdout.splitlines()) == 20
