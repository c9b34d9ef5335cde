"""What runs in the processes the pool forks (pool.py): the maker, and the workers it makes.

The maker is forked before the serving process has any thread; it forks a worker for each byte the
serving process sends it and hands back the worker's socket, reaps the workers that end, and ends
after them when its socket closes. A worker answers the calls that reach it on its socket, in order,
until the socket closes. A call and its answer cross the socket as `marshal` bytes, each after its
length (`SIZE`). Neither kind of process takes a signal meant for the service: the serving process
handles them and closes the sockets, and the others end after it.
"""

from __future__ import annotations

import errno
import logging
import marshal
import os
import signal
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("osteocheck.serve")
Work = Callable[..., tuple[Any, ...]]  # a call's arguments -> its outcome (marshal-able)
SIZE = struct.Struct("!Q")  # the length before each call and each answer
NEW_WORKER = b"w"  # the request to the maker (it makes a worker for any byte)
_PID = struct.Struct("!q")  # the maker's answer: a worker's pid (its socket alongside), or -errno
WORKER_WAIT = 5.0  # seconds a worker has to end, when told to (it finishes the call in hand)
MAKER_WAIT = WORKER_WAIT + 3.0


def _deaf() -> None:  # pragma: no cover - runs in the maker and the workers
    """Ctrl-C reaches every process of the terminal, and a service manager's stop every process of the
    service: the serving process handles them, answers the calls in hand, then closes the sockets, and
    the maker and the workers end after it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)  # the serving process's event loop listens on it


def _serve(sock: socket.socket, work: Work) -> None:  # pragma: no cover - runs in the worker
    """A worker: answer each call, in order, until the socket closes; never returns."""
    _deaf()
    code = 0
    try:
        while True:
            head = _take(sock, SIZE.size)
            job = _take(sock, SIZE.unpack(head)[0]) if head is not None else None
            if job is None:
                break
            number, args = marshal.loads(job)  # noqa: S302 - the serving process's bytes
            try:
                answer = marshal.dumps((number, work(*args)))
            except Exception as exc:  # noqa: BLE001 - said to the serving process by type only: the message may hold the record
                answer = marshal.dumps((number, ("fault", type(exc).__name__)))
            sock.sendall(SIZE.pack(len(answer)) + answer)
    except BaseException:  # noqa: BLE001 - the serving process has gone, or a signal: end quietly, no traceback
        code = 1
    finally:
        os._exit(code)


def _take(sock: socket.socket, size: int) -> bytearray | None:  # pragma: no cover - runs in the worker
    """Exactly `size` bytes, read straight into one buffer (a call's body in one or two reads); None
    when the socket has closed."""
    data = bytearray(size)
    view = memoryview(data)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return data


def start_maker(work: Work) -> tuple[int, socket.socket]:
    """The maker, forked now: its pid, and the socket to ask it for workers on."""
    ours, theirs = socket.socketpair()
    try:
        pid = os.fork()
    except OSError:  # the system's limit on processes, say: no service half started
        ours.close()
        theirs.close()
        raise
    if pid == 0:  # pragma: no cover - the maker; its work is measured through the pool's tests
        ours.close()
        _make(theirs, work)
    theirs.close()
    return pid, ours


def _make(control: socket.socket, work: Work) -> None:  # pragma: no cover - runs in the maker
    """The maker: a worker for each byte the serving process sends; never returns. It ends when its
    socket closes, after the workers it made (it reaps them meanwhile)."""
    _deaf()
    control.settimeout(1.0)  # to reap the workers that ended meanwhile
    made: list[int] = []
    code = 0
    try:
        while True:
            try:
                asked = control.recv(1)
            except TimeoutError:
                asked = None
            made = [pid for pid in made if not _ended(pid)]
            if asked is None:
                continue
            if not asked:
                break
            try:
                ours, theirs = socket.socketpair()
            except OSError as exc:
                control.sendall(_PID.pack(-(exc.errno or 1)))
                continue
            try:
                pid = os.fork()
            except OSError as exc:
                ours.close()
                theirs.close()
                control.sendall(_PID.pack(-(exc.errno or 1)))
                continue
            if pid == 0:
                control.close()
                ours.close()
                _serve(theirs, work)
            theirs.close()
            made.append(pid)
            try:
                socket.send_fds(control, [_PID.pack(pid)], [ours.fileno()])
            finally:  # sent, or the serving process has gone: either way the worker's end is not the maker's
                ours.close()
    except BaseException:  # noqa: BLE001 - the serving process has gone: end quietly, after the workers
        code = 1
    finally:
        reap(made, WORKER_WAIT, "a worker process")
        os._exit(code)


def ask(control: socket.socket) -> tuple[socket.socket, int]:
    """A new worker from the maker: its socket and pid (blocking; at start-up)."""
    control.sendall(NEW_WORKER)
    return read_answer(control)


def read_answer(control: socket.socket) -> tuple[socket.socket, int]:
    """The maker's answer, read now."""
    return _made(*socket.recv_fds(control, _PID.size, 1)[:2])


def _made(message: bytes, fds: list[int]) -> tuple[socket.socket, int]:
    """The maker's answer: the new worker's socket and pid, or the error that kept it from making one."""
    (pid,) = _PID.unpack(message) if len(message) == _PID.size else (None,)
    if pid is not None and pid >= 0 and len(fds) == 1:
        return socket.socket(fileno=fds[0]), pid
    for fd in fds:
        os.close(fd)
    if pid is None:
        raise OSError(errno.EPIPE, "the worker maker has ended")
    if pid < 0:
        raise OSError(-pid, os.strerror(-pid))
    raise OSError(errno.EPROTO, "the worker maker sent no socket")


def _ended(pid: int) -> bool:
    """Reaped now, or not ours to wait for."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:
        return True


def reap(pids: list[int], within: float, what: str) -> bool:
    """Wait for processes told to end (each finishes the call in hand); kill those left after `within`
    seconds. True when all ended by themselves."""
    left = list(pids)
    deadline = time.monotonic() + within
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if not _ended(pid)]
        if left:
            time.sleep(0.05)
    for pid in left:
        log.error("%s did not end within %g s of the stop; killed it", what, within)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    return not left
