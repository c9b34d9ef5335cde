"""Running a batch: read rows, screen them, write atomically, show progress on a terminal."""

from __future__ import annotations

import datetime as dt
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

from osteocheck.batch.lines import InputError, LineSource
from osteocheck.batch.rows import Row, Screener, read_csv, read_jsonl
from osteocheck.engine.model import Knowledge
from osteocheck.errors import OutputError
from osteocheck.writer import output

if TYPE_CHECKING:
    from osteocheck.batch.parallel import Done

MAX_REPORTED = 20  # rows named on stderr; the rest are counted


class Summary(NamedTuple):
    rows: int
    failed: int
    clearance: int
    problems: tuple[str, ...]
    stopped: bool
    damaged: int = 0  # problems of a FHIR export that may have lost a resource (its rows may lack it)

    def line(self) -> str:
        stop = " (stopped at the first failure)" if self.stopped else ""
        whole = f"; the export is not whole ({self.damaged} problem(s) above)" if self.damaged else ""
        return (
            f"{self.rows} row(s) screened, {self.failed} failed, {self.clearance} need physician clearance{stop}{whole}"
        )


def _open(source: str) -> BinaryIO:
    if source == "-":
        return sys.stdin.buffer
    try:
        return open(source, "rb")
    except OSError as exc:
        raise OutputError(f"cannot read {source}: {exc.strerror}") from None


def _size(handle: BinaryIO) -> int | None:
    """The input's size when it is a regular file; a pipe or FIFO is read without knowing its end."""
    try:
        info = os.fstat(handle.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _progress(target: str) -> Any:
    """A bar on a terminal; not when the lines themselves go to that terminal (they would tear the bar)."""
    if not sys.stderr.isatty() or (target == "-" and sys.stdout.isatty()):
        return nullcontext(None)
    from rich.console import Console  # noqa: PLC0415 - Rich only on a terminal
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("screening"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[rows]} rows"),
        TextColumn("{task.fields[rate]} rows/s"), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )  # fmt: skip


def run_batch(
    source: str, target: str, knowledge: Knowledge, *, input_format: str, output_format: str,
    full: bool, fail_fast: bool, force: bool, jobs: int = 1,
) -> Summary:  # fmt: skip
    from osteocheck.batch import parallel  # noqa: PLC0415

    screener = Screener(knowledge, output_format=output_format, full=full)
    handle = _open(source)
    lines = LineSource(handle)
    kinds = {f.id: f.per_site for f in knowledge.facts}
    size = _size(handle)
    try:
        if parallel.worth_it(jobs, size):
            rows_at_once = parallel.chunk_rows(full)
            work = (
                parallel.row_chunks(lines, kinds, rows_at_once)
                if input_format == "csv"
                else parallel.line_chunks(lines, rows_at_once)
            )
            workers = parallel.Workers(jobs, knowledge, output_format, full)
            try:
                summary = _write(
                    parallel.ordered(workers, work, fail_fast=fail_fast, limit=MAX_REPORTED),
                    screener.header(), target, (lambda: lines.consumed, size), force=force,
                )  # fmt: skip
                if not summary.stopped:
                    workers.finish()
            finally:
                workers.stop()  # a failure, a stop or an early end: no worker outlives the batch
            return summary
        rows: Iterator[Row] = read_csv(lines, kinds) if input_format == "csv" else read_jsonl(lines)
        return _screen(rows, screener, target, (lambda: lines.consumed, size), fail_fast=fail_fast, force=force)
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def run_bulk(
    folder: Path, target: str, knowledge: Knowledge, today: dt.date, *, output_format: str, full: bool,
    fail_fast: bool, force: bool,
) -> Summary:  # fmt: skip
    """Screen a FHIR Bulk Data export: one line per Patient, with what the record held in counts."""
    from osteocheck.batch.bulk import Bulk, find_export  # noqa: PLC0415
    from osteocheck.client.records.codes import load_code_map  # noqa: PLC0415

    export = find_export(folder)
    bulk = Bulk(export, load_code_map(), knowledge, today)
    screener = Screener(knowledge, output_format=output_format, full=full)
    summary = _screen(bulk.rows(), screener, target, (lambda: bulk.read, export.size), fail_fast=fail_fast, force=force)
    notes = [f"osteocheck: {p}" for p in bulk.problems[:MAX_REPORTED]]
    if len(bulk.problems) > MAX_REPORTED:
        notes.append(f"osteocheck: ... and {len(bulk.problems) - MAX_REPORTED} more problem(s) in the export")
    if bulk.orphans:
        notes.append(f"osteocheck: {bulk.orphans:,} resource(s) named no Patient of the export and were not read")
    return summary._replace(problems=(*summary.problems, *notes), damaged=bulk.damaged)


def _screen(
    rows: Iterator[Row], screener: Screener, target: str, progress: tuple[Callable[[], int], int | None], *,
    fail_fast: bool, force: bool,
) -> Summary:  # fmt: skip
    return _write(_in_process(rows, screener, fail_fast), screener.header(), target, progress, force=force)


def _in_process(rows: Iterator[Row], screener: Screener, fail_fast: bool) -> Iterator[Done]:
    """Rows screened here, in chunks as the workers hand theirs on; rows read before the input breaks are
    screened and written before its error."""
    from osteocheck.batch.parallel import chunk_rows, screen_chunk  # noqa: PLC0415

    chunk = chunk_rows(screener.full, in_process=True)

    batch: list[Row] = []
    try:
        for row in rows:
            batch.append(row)
            if len(batch) == chunk:
                done = screen_chunk(batch, screener, fail_fast, MAX_REPORTED)
                yield done
                if done.stopped:
                    return
                batch = []
    except InputError:
        if batch:
            yield screen_chunk(batch, screener, fail_fast, MAX_REPORTED)
        raise
    if batch:
        yield screen_chunk(batch, screener, fail_fast, MAX_REPORTED)


def _write(
    results: Iterator[Done], header: str, target: str, progress: tuple[Callable[[], int], int | None], *, force: bool
) -> Summary:
    """Screened chunks written in input order (atomically, with progress on a terminal), counted as they come."""
    position, total = progress
    count = failed = clearance = 0
    problems: list[str] = []
    stopped = False
    with output(target, force=force) as out, _progress(target) as bar:
        # Progress follows the bytes read, so nothing is counted (or consumed) ahead of screening.
        task = bar.add_task("screening", total=total, rows=0, rate="-") if bar else None
        out.write(header)
        try:
            for done in results:
                out.write(done.text)
                count += done.rows
                failed += done.failed
                clearance += done.clearance
                room = MAX_REPORTED - len(problems)
                problems += [f"osteocheck: row {n}: {_short(message)}" for n, message in done.problems[:room]]
                if done.stopped:
                    stopped = True
                    break
                if bar is not None:
                    speed = bar.tasks[0].speed
                    rate = f"{speed * count / max(position(), 1):,.0f}" if speed else "-"
                    bar.update(task, completed=position(), rows=f"{count:,}", rate=rate)
        except InputError as exc:
            failed += 1
            stopped = True
            problems.append(f"osteocheck: after row {count}: {exc}")
    if failed > len(problems):
        problems.append(f"osteocheck: ... and {failed - len(problems)} more failed row(s)")
    return Summary(count, failed, clearance, tuple(problems), stopped)


def _short(message: str | None, limit: int = 300) -> str:
    """One row's error on stderr stays short; the output line carries it whole."""
    text = message or "invalid row"
    return text if len(text) <= limit else text[:limit] + f"… ({len(text):,} characters in all)"
