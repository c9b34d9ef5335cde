"""Every process a test starts goes through here: each has a deadline, and what it started dies with it.

A test that waits on a child without a deadline can hang the whole suite; these helpers
fail the test instead, saying what was still running, after killing it.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest

DEADLINE = 60.0  # seconds; the slowest child here takes about one
_CHILD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE)


def run(
    argv: Sequence[str],
    *,
    timeout: float = DEADLINE,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    check: bool = False,
    stdout: int | IO[Any] = subprocess.PIPE,
    encoding: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """subprocess.run with a deadline that kills the child's whole process group, and fails the test."""
    with subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        encoding=encoding,
        start_new_session=True,  # its own group, so its children can be killed with it
        preexec_fn=_default_signals,  # noqa: PLW1509 - only resets signal dispositions, no locks taken
    ) as child:
        try:
            out, err = child.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(child.pid)
            child.communicate()
            pytest.fail(f"{' '.join(argv)} did not finish within {timeout:.0f} s; killed it and its children")
    result = subprocess.CompletedProcess(list(argv), child.returncode, out, err)
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, list(argv), out, err)
    return result


@contextmanager
def spawn(
    argv: Sequence[str], *, output: IO[Any] | None = None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """A running child for a test to signal; killed with its group when the block ends or overruns.

    `output`: a file for its stdout and stderr, for a long-running child (a pipe nobody reads fills and blocks it).
    """
    child = subprocess.Popen(
        list(argv),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output if output is not None else subprocess.PIPE,
        stderr=output if output is not None else subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_signals,  # noqa: PLW1509 - only resets signal dispositions, no locks taken
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            _kill_group(child.pid)
            child.communicate()


def finish(child: subprocess.Popen[str], *, timeout: float = DEADLINE) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a spawned child, failing the test if it does not end in time."""
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(child.pid)
        child.communicate()
        pytest.fail(f"{' '.join(map(str, child.args))} did not finish within {timeout:.0f} s; killed it")  # type: ignore[arg-type]
    return child.returncode, out, err


def run_python(code: str, *, timeout: float = DEADLINE, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-c", code], timeout=timeout, check=check)


def run_in_terminal(
    argv: list[str], replies: list[str], *, interrupt_after: int | None = None, timeout: float = DEADLINE
) -> tuple[int, str]:
    """Run osteocheck in a pseudo-terminal, answering each `]: ` prompt; (exit code, screen).

    With `interrupt_after=N`, Ctrl-C is typed at prompt N (counting from 0) instead of an answer.
    The child starts with default signal dispositions whatever this process has (nohup ignores
    SIGINT, and an ignored signal survives exec), so Ctrl-C reaches it as it would from a shell.
    """
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child only execs
        _default_signals()
        os.execve(sys.executable, [sys.executable, "-m", "osteocheck", *argv], {**os.environ, "TERM": "xterm"})
    try:
        seen, ended = _converse(fd, replies, interrupt_after, time.monotonic() + timeout)
        code = _reap(pid, time.monotonic() + (10 if ended else 0))  # still talking at the deadline: kill now
    finally:
        os.close(fd)
    if code is None:
        pytest.fail(
            f"osteocheck {' '.join(argv)} in a terminal did not exit within {timeout:.0f} s; killed it.\n"
            f"screen so far:\n{seen.decode('utf-8', 'replace')}"
        )
    return code, seen.decode("utf-8", "replace")


def _converse(fd: int, replies: list[str], interrupt_after: int | None, deadline: float) -> tuple[bytes, bool]:
    """What the child printed, and whether it closed the terminal before the deadline."""
    seen, sent = b"", 0
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                return seen, True
            if not chunk:
                return seen, True
            seen += chunk
        if seen.rstrip().endswith(b":") and sent < seen.count(b"]: "):
            if interrupt_after is not None and sent == interrupt_after:
                os.write(fd, b"\x03")
                interrupt_after = None
                sent = len(replies) + seen.count(b"]: ")  # answer nothing more: the child must stop now
                continue
            if sent < len(replies):
                os.write(fd, replies[sent].encode() + b"\r")
                sent += 1
    return seen, False


def _reap(pid: int, deadline: float) -> int | None:
    """The child's exit code, or None after killing it when it outlives the deadline."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            _kill_group(pid)
            os.waitpid(pid, 0)  # SIGKILL cannot be ignored: this returns
            return None
        time.sleep(0.05)


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue


def _default_signals() -> None:
    for number in _CHILD_SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
