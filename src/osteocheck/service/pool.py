"""Hook calls taken from one line, in the order they arrived, by the processes that answer them.

The serving process speaks HTTP and answers calls between its reads, one call per pass of the
event loop, so requests that arrive meanwhile are read (and join the line) before the next call.
With `serve --workers N`, N - 1 worker processes answer too: a worker takes the next call in line
whenever it has fewer than two in hand (the second hides the hand-over). A process that the host
gives less CPU simply takes fewer calls. With uvicorn's own workers, each kept the connections it
happened to accept, and the calls of the one that got less CPU waited for it, twice as long at
times, while the other had time to spare.

Workers are forked at the app's start-up, so they share the loaded knowledge and start at once; a
call and its answer cross a socket pair as `marshal` bytes (text, numbers, bytes, lists and dicts:
a request body and an answer, nothing that runs). A worker ends when its socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import marshal
import os
import signal
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Any, cast

log = logging.getLogger("osteocheck.serve")
_SIZE = struct.Struct("!Q")
DEPTH = 2  # calls in a worker's hands at once

Work = Callable[..., tuple[Any, ...]]  # a call's arguments -> its outcome (marshal-able)


class WorkerGone(Exception):
    """A worker ended while a call was in its hands."""


class Pool:
    """`processes` that answer `work(*args)`: this one, and `processes - 1` forked now (call `start`
    on the event loop, and `stop` at the end)."""

    def __init__(self, processes: int, work: Work) -> None:
        self.work = work
        self.pids: list[int] = []
        self.stopping = False
        self._sockets: list[socket.socket] = []
        self._hands: list[_Hand] = []
        self._line: deque[tuple[tuple[Any, ...], asyncio.Future[tuple[Any, ...]]]] = deque()
        self._waiting = asyncio.Event()
        self._here: asyncio.Task[None] | None = None
        try:
            for _ in range(processes - 1):
                ours, theirs = socket.socketpair()
                try:
                    pid = os.fork()
                except OSError:  # the system's limit on processes, say: no service half started
                    ours.close()
                    theirs.close()
                    raise
                if pid == 0:  # pragma: no cover - the child; its work is measured through the service's tests
                    ours.close()
                    for other in self._sockets:
                        other.close()
                    _serve(theirs, work)
                theirs.close()
                self.pids.append(pid)
                self._sockets.append(ours)
        except BaseException:
            self.stop()
            raise

    async def start(self) -> None:
        """Read the workers' answers on this event loop, and answer here too (the app's start-up)."""
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            hand = _Hand(self)
            await loop.create_unix_connection(lambda hand=hand: hand, sock=sock)  # type: ignore[misc]
            self._hands.append(hand)
        self._here = loop.create_task(self._answer_here())

    async def answer(self, *args: Any) -> tuple[Any, ...]:
        """What `work(*args)` returned, here or in a worker."""
        future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        self._line.append((args, future))
        self.feed()
        self._waiting.set()
        return await future

    def feed(self) -> None:
        """Hand the calls in line to workers with room, the least busy first."""
        line = self._line
        while line:
            hand = min(self._hands, key=_load, default=None)
            if hand is None or _load(hand) >= DEPTH:
                return
            args, future = line.popleft()
            if not future.done():  # not given up (its deadline passed while it waited)
                hand.send(args, future)

    async def _answer_here(self) -> None:
        """This process's share: one call at a time, each after the event loop's next poll, so requests
        and the workers' answers are read (and the workers fed) between two calls."""
        line = self._line
        while True:
            if not line:
                self._waiting.clear()
                await self._waiting.wait()
            await io_turn()
            self.feed()
            if not line:
                continue
            args, future = line.popleft()
            if future.done():
                continue
            try:
                future.set_result(self.work(*args))
            except Exception as exc:  # noqa: BLE001 - the caller's to report, as if it had called work itself
                future.set_exception(exc)

    def stop(self) -> None:
        """End the workers: their sockets close (a worker ends when its socket does), then each is reaped."""
        self.stopping = True
        if self._here is not None:
            self._here.cancel()
        for hand in self._hands:
            hand.close()  # takes effect on the event loop's next pass, which _reap holds up
        for sock in self._sockets:
            with contextlib.suppress(OSError):  # a worker that has gone already
                sock.shutdown(socket.SHUT_RDWR)  # so the worker's read ends now
            sock.close()
        for pid in self.pids:
            _reap(pid)
        self.pids.clear()


async def io_turn() -> None:
    """Go on after the event loop's next poll: a timer fires only then, whichever loop runs."""
    loop = asyncio.get_running_loop()
    turn = loop.create_future()
    loop.call_later(0, _wake, turn)
    await turn


def _wake(turn: asyncio.Future[None]) -> None:
    if not turn.done():  # the call may have been cancelled meanwhile
        turn.set_result(None)


def _load(hand: _Hand) -> int:
    return len(hand.waiting) if hand.alive else DEPTH


class _Hand(asyncio.Protocol):
    """The serving process's end of one worker's socket: calls out, answers back, in order. Each call
    carries a number its answer must echo: an answer for another call (cards for another patient)
    is never passed on. The worker is cut off instead, and the calls in its hands fail."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.waiting: deque[tuple[int, asyncio.Future[tuple[Any, ...]]]] = deque()
        self.alive = True
        self._buffer = bytearray()
        self._transport: asyncio.Transport  # connected before any call is sent (Pool.start)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast("asyncio.Transport", transport)  # a socket's

    def send(self, args: tuple[Any, ...], future: asyncio.Future[tuple[Any, ...]]) -> None:
        number = next(_numbers)
        self.waiting.append((number, future))
        job = marshal.dumps((number, args))
        self._transport.writelines((_SIZE.pack(len(job)), job))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while self.alive and len(buffer) >= _SIZE.size:
            (size,) = _SIZE.unpack_from(buffer)
            end = _SIZE.size + size
            if len(buffer) < end:
                return
            answer = bytes(buffer[_SIZE.size : end])
            del buffer[:end]
            number, future = self.waiting.popleft()
            try:
                echoed, outcome = marshal.loads(answer)  # noqa: S302 - our own worker's bytes
            except (ValueError, EOFError, TypeError):
                echoed, outcome = None, None
            if echoed != number or not isinstance(outcome, tuple):
                self.waiting.appendleft((number, future))
                self._cut_off(f"answered call {echoed!r} in place of call {number}")
                return
            if not future.done():
                future.set_result(outcome)
        self.pool.feed()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.alive and not self.pool.stopping:
            self._fail(f"a worker process has ended; {len(self.waiting)} calls in its hands fail")

    def _cut_off(self, why: str) -> None:
        self._fail(f"a worker process {why}: cut off; {len(self.waiting)} calls in its hands fail")
        self._transport.close()

    def _fail(self, message: str) -> None:
        log.error("%s", message)
        self.alive = False
        while self.waiting:
            _, future = self.waiting.popleft()
            if not future.done():
                future.set_exception(WorkerGone())

    def close(self) -> None:
        self._transport.close()


_numbers = itertools.count(1)  # calls sent to workers, numbered across the process


def _serve(sock: socket.socket, work: Work) -> None:  # pragma: no cover - runs in the worker
    """A worker: answer each call, in order, until the socket closes; never returns."""
    # Ctrl-C reaches every process of the terminal, and a service manager's stop every process of the
    # service: the serving process handles them, answers the calls in hand, then closes the sockets.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)  # the serving process's event loop listens on it
    code = 0
    try:
        while True:
            head = _take(sock, _SIZE.size)
            job = _take(sock, _SIZE.unpack(head)[0]) if head is not None else None
            if job is None:
                break
            number, args = marshal.loads(job)  # noqa: S302 - the serving process's bytes
            try:
                answer = marshal.dumps((number, work(*args)))
            except Exception as exc:  # noqa: BLE001 - said to the serving process by type only: the message may hold the record
                answer = marshal.dumps((number, ("fault", type(exc).__name__)))
            sock.sendall(_SIZE.pack(len(answer)) + answer)
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


def _reap(pid: int) -> None:
    """Wait for a worker that was told to end (it finishes the call in hand); kill it after 5 s."""
    for _ in range(100):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.05)
    log.error("a worker process did not end within 5 s of the stop; killed it")
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
