"""Screening in worker processes (`batch --jobs N`): output in input order, memory bounded.

The main process only reads lines and writes results; workers parse, validate and screen chunks of
rows. One chunk is in flight per worker, so a roster of any length streams through in flat memory.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from osteocheck.batch.lines import InputError, LineSource
from osteocheck.batch.rows import Row, Screener, jsonl_row, read_csv
from osteocheck.engine.model import Knowledge

if TYPE_CHECKING:
    from multiprocessing.context import ForkContext, SpawnContext  # ForkContext: not on Windows

CHUNK = 2000  # rows a worker screens at once
IN_PROCESS_CHUNK = 500  # rows screened at once without workers
FULL_CHUNK = 40  # with --full: a whole plan is ~50 KB of JSON, so ~2 MB a chunk instead of ~100 MB


def chunk_rows(full: bool, *, in_process: bool = False) -> int:
    """Rows screened at once: memory follows the chunk's output, so fewer when each line is a whole plan."""
    return FULL_CHUNK if full else IN_PROCESS_CHUNK if in_process else CHUNK


MIN_BYTES = 1024 * 1024  # a smaller file is screened in-process: starting workers would cost more

T = TypeVar("T")
Raw = tuple[int, str, list[str]]  # a JSONL line: its number, its text, what reading it found


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


def _quiet_on_ctrl_c() -> None:
    # Ctrl-C is the main process's to handle; it stops the workers. A stop signal ends a worker at once
    # (not the main process's handler, inherited by fork, which would unwind it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stop in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, stop):
            signal.signal(getattr(signal, stop), signal.SIG_DFL)


def screen_chunk(rows: Iterable[Row], screener: Screener, fail_fast: bool, limit: int) -> Done:
    """Rows screened into their lines and counts (by a worker, or in the main process by run.py)."""
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


def line_chunks(lines: LineSource, size: int = CHUNK) -> Iterator[list[Raw]]:
    """JSONL as raw lines (the workers parse them), each with what reading it found."""
    return _chunked(((number, line, lines.take_problems()) for number, line in enumerate(lines, start=1)), size)


def row_chunks(lines: LineSource, kinds: dict[str, bool], size: int = CHUNK) -> Iterator[list[Row]]:
    """CSV as rows (the header and quoting are read here, in order)."""
    return _chunked(read_csv(lines, kinds), size)


def _chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Workers:
    """Worker processes, each fed over its own pipe: no queues, threads or locks shared between them, so
    stopping them (a failure, Ctrl-C, a stop signal) is a kill that cannot hang."""

    def __init__(self, jobs: int, knowledge: Knowledge, output_format: str, full: bool) -> None:
        context: ForkContext | SpawnContext
        if sys.platform.startswith("linux"):
            gc.freeze()  # what is loaded now stays shared with the workers: the collector never writes to it
            context = multiprocessing.get_context("fork")
        else:
            context = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess] = []
        self.pipes: list[Connection] = []
        try:
            for _ in range(jobs):
                ours, theirs = context.Pipe()
                worker = context.Process(target=_serve, args=(theirs, knowledge, output_format, full), daemon=True)
                worker.start()
                theirs.close()
                self.processes.append(worker)
                self.pipes.append(ours)
        except BaseException:
            self.stop()
            raise

    def finish(self) -> None:
        """All work done: each worker is told to end, and does."""
        for pipe in self.pipes:
            pipe.send(None)
        for worker in self.processes:
            worker.join(timeout=10)
        self.stop()

    def stop(self) -> None:
        for worker in self.processes:
            if worker.is_alive():
                worker.kill()
            worker.join(timeout=10)
        for pipe in self.pipes:
            pipe.close()


def _serve(pipe: Connection, knowledge: Knowledge, output_format: str, full: bool) -> None:
    """A worker: screen each chunk sent, send back what it made, until told to end."""
    _quiet_on_ctrl_c()
    screener = Screener(knowledge, output_format=output_format, full=full)
    while True:
        try:
            task = pipe.recv()
        except EOFError:  # the main process has gone
            return
        if task is None:
            return
        chunk, fail_fast, limit = task
        rows = chunk if chunk and isinstance(chunk[0], Row) else _parsed(chunk)
        try:
            pipe.send(screen_chunk(rows, screener, fail_fast, limit))
        except Exception as exc:  # noqa: BLE001 - reported by the main process, which stops the batch
            pipe.send(f"a batch worker failed: {type(exc).__name__}: {exc}")


def _parsed(chunk: list[Raw]) -> Iterator[Row]:
    rows = (jsonl_row(number, line, problems) for number, line, problems in chunk)
    return (row for row in rows if row is not None)


def ordered(
    workers: Workers, work: Iterator[list[Raw]] | Iterator[list[Row]], *, fail_fast: bool, limit: int
) -> Iterator[Done]:
    """Results in input order. Chunks go round the workers, one in flight each: a chunk is only sent to
    a worker whose last result has been read, so neither side ever waits on the other (flat memory too)."""
    pipes = workers.pipes
    pending: deque[Connection] = deque()

    def result(pipe: Connection) -> Done:
        done = pipe.recv()
        if isinstance(done, str):
            raise RuntimeError(done)
        return done  # type: ignore[no-any-return]

    try:
        for i, chunk in enumerate(work):
            pipe = pipes[i % len(pipes)]
            if len(pending) == len(pipes):
                yield result(pending.popleft())  # the oldest is this worker's last chunk
            pipe.send((chunk, fail_fast, limit))
            pending.append(pipe)
    except InputError:
        while pending:  # the rows read before the input broke are screened and written first
            yield result(pending.popleft())
        raise
    while pending:
        yield result(pending.popleft())
