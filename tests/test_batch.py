"""Batch screening: formats, bad rows, order, one line per row, stdin/stdout, no clobbering."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from osteocheck.cli.app import app
from processes import run as run_process
from processes import run_in_terminal

ROWS = [
    {"id": "a", "fracture_history": True, "anticoagulants": True},
    {"id": "b", "open_wounds": ["wirst"]},
    {"id": "c", "stage": "osteopenia", "fresh_fractures": ["wrists"]},
    {"id": "d", "fractur_history": True},
    {"id": "e", "fracture_history": True, "anticoagulants": True},
]


def jsonl(tmp_path: Path, rows: list[dict[str, object]] = ROWS) -> Path:
    path = tmp_path / "roster.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_one_line_per_row_in_order_with_errors(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["batch", str(jsonl(tmp_path))])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c", "d", "e"]
    assert [line["row"] for line in lines] == [1, 2, 3, 4, 5]
    assert lines[0]["error"] is None and lines[0]["stage"] == "severe"
    assert set(lines[0]) == {
        "id", "row", "stage", "proceed", "clearance_required", "max_pressure", "sites", "techniques",
        "avoid_positions", "error",
    }  # fmt: skip
    assert lines[0]["proceed"] == "yes" and lines[2]["proceed"] == "after_clearance"
    assert lines[0]["techniques"]["deep_kneading"] == "excluded"
    assert lines[2]["clearance_required"] == ["wrists"] and lines[2]["sites"]["wrists"] == 0
    assert "unknown site 'wirst' (did you mean 'wrists'?)" in lines[1]["error"]
    assert "unknown profile key 'fractur_history'" in lines[3]["error"]
    assert {k: v for k, v in lines[4].items() if k not in ("id", "row")} == {
        k: v for k, v in lines[0].items() if k not in ("id", "row")
    }
    assert "osteocheck: row 2: 'open_wounds': unknown site 'wirst'" in result.stderr
    assert result.stderr.rstrip().endswith("5 row(s) screened, 2 failed, 1 need physician clearance")


def test_all_good_rows_exit_0(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["batch", str(jsonl(tmp_path, [ROWS[0], ROWS[2]]))])
    assert result.exit_code == 0, result.stderr


def test_fail_fast_stops_at_the_first_bad_row(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["batch", str(jsonl(tmp_path)), "--fail-fast"])
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 2
    assert "stopped at the first failure" in result.stderr


def test_full_lines_are_plan_objects_with_id(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["batch", str(jsonl(tmp_path, [ROWS[0]])), "--full"])
    line = json.loads(result.stdout)
    assert line["id"] == "a" and line["schema"] == "osteocheck.plan/1" and line["techniques"][0]["reasons"] == []


def test_broken_lines_are_error_rows(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "x"}\nnot json\n[1]\n\n{"id": "y", "id": "z"}\n', encoding="utf-8")
    result = runner.invoke(app, ["batch", str(path)])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("error") is None for line in lines] == [True, False, False, False]
    assert "duplicate key 'id'" in lines[3]["error"]


def test_csv_in_and_out(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "id,stage,fracture_history,open_wounds,cleared,t_score\nx1,osteopenia,yes,legs;arms,legs,\n=cmd,,no,,,\nx3,,maybe,,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["batch", str(path), "--format", "csv"])
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == ["x1", "'=cmd", "x3"]
    assert rows[0]["clearance_sites"] == "arms" and rows[0]["untreatable_sites"] == "arms"
    assert "deep_kneading" in rows[1]["excluded_techniques"]
    assert "expected true or false, found 'maybe'" in rows[2]["error"]


def test_stdin_and_output_file_no_clobber(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    data = json.dumps(ROWS[0]) + "\n"
    result = runner.invoke(app, ["batch", "-", "--output", str(target)], input=data)
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8"))["id"] == "a"
    again = runner.invoke(app, ["batch", "-", "--output", str(target)], input=data)
    assert again.exit_code == 1 and "already exists; use --force" in again.stderr
    assert runner.invoke(app, ["batch", "-", "-o", str(target), "--force"], input=data).exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_usage_errors(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["batch", str(jsonl(tmp_path)), "--format", "xml"])
    assert result.exit_code == 2 and "allowed: jsonl, csv" in result.stderr
    result = runner.invoke(app, ["batch", str(jsonl(tmp_path)), "--format", "csv", "--full"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["batch", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 1 and "cannot read" in result.stderr


def test_an_output_file_s_name_gives_its_format_or_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    rows = str(jsonl(tmp_path, ROWS[:1]))
    assert runner.invoke(app, ["batch", rows, "-o", str(tmp_path / "o.csv")]).exit_code == 0
    assert (tmp_path / "o.csv").read_text(encoding="utf-8").startswith("id,row,stage,")
    assert runner.invoke(app, ["batch", rows, "-o", str(tmp_path / "o.ndjson")]).exit_code == 0
    assert json.loads((tmp_path / "o.ndjson").read_text(encoding="utf-8").splitlines()[0])["id"] == "a"
    for name, said in [("o.xlsx", "batch writes .jsonl or .csv"), ("o.json", "batch writes .jsonl or .csv")]:
        result = runner.invoke(app, ["batch", rows, "-o", str(tmp_path / name)])
        assert result.exit_code == 2 and said in result.stderr and not (tmp_path / name).exists()
    result = runner.invoke(app, ["batch", rows, "-o", str(tmp_path / "x.jsonl"), "-f", "csv"])
    assert result.exit_code == 2 and "--format csv contradicts --output" in result.stderr
    result = runner.invoke(app, ["batch", rows, "-o", str(tmp_path / "x.csv"), "--full"])
    assert result.exit_code == 2 and "--full writes JSON Lines" in result.stderr
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "x.csv").exists()


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    source = jsonl(tmp_path, [ROWS[0]] * 20000)
    out = tmp_path / "o.jsonl"
    piped = run_process([sys.executable, "-m", "osteocheck", "batch", str(source), "-o", str(out)], check=True)
    assert "\x1b" not in piped.stderr and "rows/s" not in piped.stderr
    code, seen = run_in_terminal(["batch", str(source), "-o", str(tmp_path / "t.jsonl")], [])
    assert code == 0
    assert "20000 row(s) screened" in seen
    assert "rows/s" in seen and "screening" in seen
    assert len((tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()) == 20000
    # lines printed to that same terminal are their own progress: no bar to tear them
    small = jsonl(tmp_path, [ROWS[0]] * 4)
    code, seen = run_in_terminal(["batch", str(small), "--format", "csv"], [])
    assert code == 0 and "screening" not in seen and "rows/s" not in seen
    assert seen.splitlines()[0].startswith("id,row,")
