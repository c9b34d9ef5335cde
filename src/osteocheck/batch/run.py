"""Running a batch: read rows, screen them, write atomically, show progress on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import nullcontext
from typing import IO, Any, NamedTuple

from osteocheck.batch.rows import Row, Screener, read_csv, read_jsonl
from osteocheck.engine.model import Knowledge
from osteocheck.errors import OutputError
from osteocheck.writer import output

MAX_REPORTED = 20  # rows named on stderr; the rest are counted


class Summary(NamedTuple):
    rows: int
    failed: int
    clearance: int
    problems: tuple[str, ...]
    stopped: bool

    def line(self) -> str:
        stop = " (stopped at the first failure)" if self.stopped else ""
        return f"{self.rows} row(s) screened, {self.failed} failed, {self.clearance} need physician clearance{stop}"


def _open(source: str) -> IO[str]:
    if source == "-":
        return sys.stdin
    try:
        return open(source, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise OutputError(f"cannot read {source}: {exc.strerror}") from None


def _count_rows(source: str) -> int | None:
    if source == "-":
        return None
    with open(source, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _progress() -> Any:
    if not sys.stderr.isatty():
        return nullcontext(None)
    from rich.console import Console  # noqa: PLC0415 - Rich only on a terminal
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("screening"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rate]} rows/s"), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )  # fmt: skip


def run_batch(
    source: str, target: str, knowledge: Knowledge, *, input_format: str, output_format: str,
    full: bool, fail_fast: bool, force: bool,
) -> Summary:  # fmt: skip
    screener = Screener(knowledge, output_format=output_format, full=full)
    handle = _open(source)
    rows: Iterator[Row] = read_csv(handle) if input_format == "csv" else read_jsonl(handle)
    count = failed = clearance = 0
    problems: list[str] = []
    stopped = False
    try:
        with output(target, force=force) as out, _progress() as bar:
            task = bar.add_task("screening", total=_count_rows(source), rate="-") if bar else None
            write = out.write
            write(screener.header())
            for row in rows:
                result = screener.screen(row)
                write(result.line)
                count += 1
                clearance += result.clearance
                if result.failed:
                    failed += 1
                    if len(problems) < MAX_REPORTED:
                        problems.append(f"osteocheck: row {row.number}: {result.error}")
                    if fail_fast:
                        stopped = True
                        break
                if bar is not None and count % 500 == 0:
                    speed = bar.tasks[0].speed
                    bar.update(task, completed=count, rate=f"{speed:,.0f}" if speed else "-")
    finally:
        if handle is not sys.stdin:
            handle.close()
    if failed > MAX_REPORTED:
        problems.append(f"osteocheck: ... and {failed - MAX_REPORTED} more failed row(s)")
    return Summary(count, failed, clearance, tuple(problems), stopped)
