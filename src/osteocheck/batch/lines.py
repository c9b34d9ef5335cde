"""Batch input read once, as bytes, line by line: bounded lines, decoding problems that stay on their row.

A file, a pipe, process substitution, /dev/stdin or a FIFO are all read the same
way, once, front to back; nothing counts ahead. A line that is too long or not
UTF-8 becomes that row's error and the next line is read as usual. Input that
never ends a line (/dev/zero) stops the batch with an error instead of filling memory.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

MAX_LINE = 1024 * 1024  # bytes: far above any real roster row
MAX_SKIP = 64 * 1024 * 1024  # an overlong line is skipped up to here; beyond it the input is not a roster


class InputError(Exception):
    """The input cannot be read on as a roster (a line with no end in sight)."""


class LineSource:
    """Decoded lines for the row readers; a line that cannot be used is handed out blank, with its problem kept."""

    def __init__(self, handle: BinaryIO, *, max_line: int = MAX_LINE, max_skip: int = MAX_SKIP) -> None:
        self._handle = handle
        self._max_line = max_line
        self._max_skip = max_skip
        self.consumed = 0  # bytes read so far, for progress on a file of known size
        self._problems: list[str] = []
        self._first = True

    def take_problems(self) -> list[str]:
        """What was wrong with the lines handed out since the last call (each was handed out as blank)."""
        problems, self._problems = self._problems, []
        return problems

    def __iter__(self) -> Iterator[str]:
        while True:
            raw = self._handle.readline(self._max_line + 1)
            if not raw:
                return
            self.consumed += len(raw)
            if self._first:
                raw = raw.removeprefix(codecs.BOM_UTF8)
                self._first = False
            if len(raw) > self._max_line and not raw.endswith(b"\n"):
                self._skip_rest()
                self._problems.append(f"line longer than {self._max_line:,} bytes; skipped")
                yield "\n"
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._problems.append(
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); save the file as UTF-8"
                )
                yield "\n"
                continue
            yield text

    def _skip_rest(self) -> None:
        skipped = 0
        while True:
            chunk = self._handle.readline(self._max_line)
            self.consumed += len(chunk)
            skipped += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return
            if skipped > self._max_skip:
                raise InputError(
                    f"a line longer than {self._max_skip // (1024 * 1024)} MiB with no end: this input is not a roster"
                )
