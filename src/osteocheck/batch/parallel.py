"""Screening in worker processes (`batch --jobs N`): output in input order, memory bounded.

The main process only reads lines and writes results; workers parse, validate and screen chunks of
rows. At most a few chunks are in flight, so a roster of any length streams through in flat memory.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterator
from multiprocessing.pool import AsyncResult, Pool
from typing import NamedTuple

from osteocheck.batch.lines import InputError, LineSource
from osteocheck.batch.rows import Row, Screener, jsonl_row, read_csv
from osteocheck.engine.model import Knowledge

CHUNK = 2000  # rows a worker screens at once
IN_FLIGHT = 2  # chunks queued per worker
MIN_BYTES = 1024 * 1024  # a smaller file is screened in-process: starting workers would cost more

Raw = tuple[int, str, list[str]]  # a JSONL line: its number, its text, what reading it found

_screener: Screener | None = None


class Done(NamedTuple):
    """A screened chunk: its lines, counts, and the failed rows' messages (row number, message)."""

    text: str
    rows: int
    failed: int
    clearance: int
    problems: tuple[tuple[int, str], ...]
    stopped: bool


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def worth_it(jobs: int, size: int | None) -> bool:
    """Workers for a long roster (or one of unknown length, from a pipe); in-process for a short one."""
    return jobs > 1 and (size is None or size >= MIN_BYTES)


def _start(knowledge: Knowledge, output_format: str, full: bool) -> None:
    global _screener  # noqa: PLW0603 - one screener per worker process
    # Ctrl-C is the main process's to handle; it stops the workers. A stop signal ends a worker at once
    # (not the main process's handler, inherited by fork, which would unwind it into the pool's loop).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stop in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, stop):
            signal.signal(getattr(signal, stop), signal.SIG_DFL)
    _screener = Screener(knowledge, output_format=output_format, full=full)


def _work_lines(chunk: list[Raw], fail_fast: bool, limit: int) -> Done:
    rows = (jsonl_row(number, line, problems) for number, line, problems in chunk)
    return _work((row for row in rows if row is not None), fail_fast, limit)


def _work_rows(chunk: list[Row], fail_fast: bool, limit: int) -> Done:
    return _work(iter(chunk), fail_fast, limit)


def _work(rows: Iterator[Row], fail_fast: bool, limit: int) -> Done:
    screener = _screener
    if screener is None:
        raise RuntimeError("a batch worker ran before it was started")
    out: list[str] = []
    count = failed = clearance = 0
    problems: list[tuple[int, str]] = []
    for row in rows:
        result = screener.screen(row)
        out.append(result.line)
        count += 1
        clearance += result.clearance
        if result.failed:
            failed += 1
            if len(problems) < limit:
                problems.append((row.number, result.error or "invalid row"))
            if fail_fast:
                return Done("".join(out), count, failed, clearance, tuple(problems), True)
    return Done("".join(out), count, failed, clearance, tuple(problems), False)


def line_chunks(lines: LineSource) -> Iterator[list[Raw]]:
    """JSONL as raw lines (the workers parse them), each with what reading it found."""
    chunk: list[Raw] = []
    for number, line in enumerate(lines, start=1):
        chunk.append((number, line, lines.take_problems()))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def row_chunks(lines: LineSource, kinds: dict[str, bool]) -> Iterator[list[Row]]:
    """CSV as rows (the header and quoting are read here, in order)."""
    chunk: list[Row] = []
    for row in read_csv(lines, kinds):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def pool(jobs: int, knowledge: Knowledge, output_format: str, full: bool) -> Pool:
    """Workers started before anything else runs threads (a progress bar does): fork where it is the norm."""
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = multiprocessing.get_context(method)
    return context.Pool(jobs, initializer=_start, initargs=(knowledge, output_format, full))


def ordered(
    workers: Pool, work: Iterator[list[Raw]] | Iterator[list[Row]], jobs: int, *, fail_fast: bool, limit: int
) -> Iterator[Done]:
    """Results in input order, with at most IN_FLIGHT chunks per worker queued (flat memory)."""
    pending: deque[AsyncResult[Done]] = deque()
    try:
        for chunk in work:
            task = _work_rows if chunk and isinstance(chunk[0], Row) else _work_lines
            pending.append(workers.apply_async(task, (chunk, fail_fast, limit)))
            if len(pending) >= jobs * IN_FLIGHT:
                yield pending.popleft().get()
    except InputError:
        while pending:  # the rows read before the input broke are screened and written first
            yield pending.popleft().get()
        raise
    while pending:
        yield pending.popleft().get()
