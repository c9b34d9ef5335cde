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

They are forked by a maker: a process forked first, before the serving process has any thread, that
forks each worker on request and hands its socket back. A worker that ends is replaced the same way,
so the service does not stay a process short; forking from the serving process then, with a fetch's
or a key check's thread perhaps inside OpenSSL, could leave the new worker stuck on a lock. The maker
reaps its workers, and ends (after them) when the serving process closes its socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
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
        self.maker: int | None = None
        self.stopping = False
        self._control: socket.socket | None = None
        self._hands: list[_Hand] = []  # one a worker, connected to the event loop by `start`
        self._line: deque[tuple[tuple[Any, ...], asyncio.Future[tuple[Any, ...]]]] = deque()
        self._waiting = asyncio.Event()
        self._here: asyncio.Task[None] | None = None
        self._replacing: set[asyncio.Task[None]] = set()
        self._replaced: deque[float] = deque()  # when workers were last replaced (REPLACED_AT_MOST)
        self._asking = asyncio.Lock()
        self._reading: tuple[asyncio.AbstractEventLoop, int] | None = None  # the maker's socket, watched
        if processes < 2:
            return
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
        self.maker, self._control = pid, ours
        try:
            for _ in range(processes - 1):
                self._hands.append(_Hand(self, *_ask(ours)))
        except BaseException:
            self.stop()
            raise

    async def start(self) -> None:
        """Read the workers' answers on this event loop, and answer here too (the app's start-up)."""
        for hand in self._hands:
            await hand.connect()
        self._here = asyncio.get_running_loop().create_task(self._answer_here())

    @property
    def pids(self) -> list[int]:
        """The workers' process ids, in the order of their hands."""
        return [hand.pid for hand in self._hands]

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

    def replace(self, hand: _Hand) -> None:
        """A new worker in place of `hand`'s, which has ended or been cut off (from the maker, on this loop)."""
        if self.stopping or self._control is None or hand not in self._hands:
            return
        now = time.monotonic()
        while self._replaced and self._replaced[0] < now - 60:
            self._replaced.popleft()
        if len(self._replaced) >= REPLACED_AT_MOST:
            log.error(
                "workers have ended %d times within a minute: this one is not replaced; processes answering: %d",
                len(self._replaced) + 1,
                1 + sum(h.alive for h in self._hands),
            )
            return
        self._replaced.append(now)
        task = asyncio.get_running_loop().create_task(self._replace(hand))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _replace(self, hand: _Hand) -> None:
        control = self._control
        assert control is not None  # noqa: S101 - replace() checked it
        try:
            async with self._asking, asyncio.timeout(10):  # one request at a time: the answers carry no name
                sock, worker = await self._ask_here(control)
        except (OSError, TimeoutError) as exc:
            if self.stopping:  # the maker's socket closed under the request
                return
            if isinstance(exc, ConnectionError):  # its socket reset or broken: the maker has gone
                why = "the worker maker has ended"
            else:
                why = str(exc.strerror) if isinstance(exc, OSError) else "the maker did not answer within 10 s"
            log.error("a worker process could not be replaced: %s", why)
            return
        if self.stopping:
            sock.close()
            return
        new = _Hand(self, sock, worker)
        await new.connect()
        if self.stopping:  # stopped meanwhile: it ends with its socket
            new.close()
            return
        self._hands[self._hands.index(hand)] = new
        hand.sock.close()
        log.warning("a new worker process has taken the place of the one that ended")
        self.feed()

    async def _ask_here(self, control: socket.socket) -> tuple[socket.socket, int]:
        """`_ask` on the event loop: it waits for the maker without holding up the calls (after start-up,
        only the loop asks, so the socket stays non-blocking)."""
        loop = asyncio.get_running_loop()
        control.setblocking(False)
        await loop.sock_sendall(control, _NEW_WORKER)
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(control.fileno(), _wake, ready)
        self._reading = (loop, control.fileno())
        try:
            await ready
        finally:
            self._stop_reading()
        return _answer(control)

    def _stop_reading(self) -> None:
        """No longer watch the maker's socket: before it closes, since uvloop aborts on a closed one."""
        if self._reading is not None:
            loop, fd = self._reading
            self._reading = None
            loop.remove_reader(fd)

    def stop(self) -> None:
        """End the workers: their sockets close (a worker ends when its socket does), then the maker's,
        and the maker reaps them before it ends."""
        self.stopping = True
        if self._here is not None:
            self._here.cancel()
        for task in self._replacing:
            task.cancel()
        for hand in self._hands:
            hand.close()  # takes effect on the event loop's next pass, which _reap holds up
            with contextlib.suppress(OSError):  # a worker that has gone already
                hand.sock.shutdown(socket.SHUT_RDWR)  # so the worker's read ends now
            hand.sock.close()
        if self._control is not None:
            self._stop_reading()
            self._control.close()
        if self.maker is not None and not _reap([self.maker], MAKER_WAIT, "the worker maker"):
            for pid in self.pids:  # the maker was killed before it could reap them
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.maker = None
        self._hands.clear()


REPLACED_AT_MOST = 5  # workers replaced a minute: one that fails at once is not forked for ever
WORKER_WAIT = 5.0  # seconds a worker has to end, when told to (it finishes the call in hand)
MAKER_WAIT = WORKER_WAIT + 3.0


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

    def __init__(self, pool: Pool, sock: socket.socket, pid: int) -> None:
        self.pool, self.sock, self.pid = pool, sock, pid
        self.waiting: deque[tuple[int, asyncio.Future[tuple[Any, ...]]]] = deque()
        self.alive = True
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None  # connected before any call is sent (Pool.start)

    async def connect(self) -> None:
        """Read the worker's answers on this event loop from now on."""
        await asyncio.get_running_loop().create_unix_connection(lambda: self, sock=self.sock)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast("asyncio.Transport", transport)  # a socket's

    def send(self, args: tuple[Any, ...], future: asyncio.Future[tuple[Any, ...]]) -> None:
        number = next(_numbers)
        self.waiting.append((number, future))
        job = marshal.dumps((number, args))
        assert self._transport is not None  # noqa: S101 - the pool sends only once it has started
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
        self.close()

    def _fail(self, message: str) -> None:
        log.error("%s", message)
        self.alive = False
        while self.waiting:
            _, future = self.waiting.popleft()
            if not future.done():
                future.set_exception(WorkerGone())
        self.pool.replace(self)

    def close(self) -> None:
        """No longer read the worker (the pool closes its socket)."""
        if self._transport is not None:  # None: stopped before it started
            self._transport.close()


_numbers = itertools.count(1)  # calls sent to workers, numbered across the process


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


_PID = struct.Struct("!q")  # the maker's answer: a worker's pid (its socket alongside), or -errno
_NEW_WORKER = b"w"  # the request to the maker (it makes a worker for any byte)


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
        _reap(made, WORKER_WAIT, "a worker process")
        os._exit(code)


def _ask(control: socket.socket) -> tuple[socket.socket, int]:
    """A new worker from the maker: its socket and pid (blocking; at start-up)."""
    control.sendall(_NEW_WORKER)
    return _answer(control)


def _answer(control: socket.socket) -> tuple[socket.socket, int]:
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


def _reap(pids: list[int], within: float, what: str) -> bool:
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
