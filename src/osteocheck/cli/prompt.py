"""Reading an answer from a terminal so that Ctrl-C always ends the intake.

`input()` can lose a Ctrl-C that arrives in the instant between printing the prompt
and blocking in read(): the signal is noted, but nothing wakes the read, and the
intake waits for ever. Here the wait is a select() on the terminal *and* the
signal wake-up pipe, so a signal that came before the wait still ends it.
"""

from __future__ import annotations

import os
import select
import signal
import sys


class TerminalReader:
    """Line reader for a terminal in canonical mode (the kernel does the line editing)."""

    def __init__(self) -> None:
        self._pending = b""

    def ask(self, prompt: str) -> str:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        try:
            previous = signal.set_wakeup_fd(wake_w)
        except ValueError:  # not the main thread: no wake-up pipe to be had
            os.close(wake_r)
            os.close(wake_w)
            return input()
        try:
            return self._line(sys.stdin.fileno(), wake_r)
        finally:
            signal.set_wakeup_fd(previous)
            os.close(wake_r)
            os.close(wake_w)

    def _line(self, fd: int, wake: int) -> str:
        while b"\n" not in self._pending:
            ready, _, _ = select.select([fd, wake], [], [])
            if wake in ready:
                os.read(wake, 64)  # a signal came; its Python handler (Ctrl-C: KeyboardInterrupt) runs now
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise EOFError
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode("utf-8", "replace").rstrip("\r")
