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

They are forked by a maker (forked.py): a process forked first, before the serving process has any thread, that
forks each worker on request and hands its socket back. A worker that ends is replaced the same way,
so the service does not stay a process short; forking from the serving process then, with a fetch's
or a key check's thread perhaps inside OpenSSL, could leave the new worker stuck on a lock. The maker
reaps its workers, and ends (after them) when the serving process closes its socket.
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
import time
from collections import deque
from typing import Any, cast

from osteocheck.service import forked
from osteocheck.service.forked import Work

log = logging.getLogger("osteocheck.serve")
DEPTH = 2  # calls in a worker's hands at once


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
        self.maker, self._control = forked.start_maker(work)
        try:
            for _ in range(processes - 1):
                self._hands.append(_Hand(self, *forked.ask(self._control)))
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
        """`forked.ask` on the event loop: it waits for the maker without holding up the calls (after start-up,
        only the loop asks, so the socket stays non-blocking)."""
        loop = asyncio.get_running_loop()
        control.setblocking(False)
        await loop.sock_sendall(control, forked.NEW_WORKER)
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(control.fileno(), _wake, ready)
        self._reading = (loop, control.fileno())
        try:
            await ready
        finally:
            self._stop_reading()
        return forked.read_answer(control)

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
            hand.close()  # takes effect on the event loop's next pass, which reap() holds up
            with contextlib.suppress(OSError):  # a worker that has gone already
                hand.sock.shutdown(socket.SHUT_RDWR)  # so the worker's read ends now
            hand.sock.close()
        if self._control is not None:
            self._stop_reading()
            self._control.close()
        if self.maker is not None and not forked.reap([self.maker], forked.MAKER_WAIT, "the worker maker"):
            for pid in self.pids:  # the maker was killed before it could reap them
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.maker = None
        self._hands.clear()


REPLACED_AT_MOST = 5  # workers replaced a minute: one that fails at once is not forked for ever


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
        self._transport.writelines((forked.SIZE.pack(len(job)), job))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while self.alive and len(buffer) >= forked.SIZE.size:
            (size,) = forked.SIZE.unpack_from(buffer)
            end = forked.SIZE.size + size
            if len(buffer) < end:
                return
            answer = bytes(buffer[forked.SIZE.size : end])
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
