"""Hook calls taken from one line (`service.pool`): here between two polls of the event loop, in the
order they arrived, and by forked workers with `serve --workers N`, under the standard loop and uvloop."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import marshal
import os
import re
import signal
import socket
import struct
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed")

from conftest import ROOT
from osteocheck.service import forked
from osteocheck.service.pool import Pool, WorkerGone, _Hand, io_turn
from processes import DEADLINE
from serving import serving
from test_service import RECORDS, FhirStub, _without_prefetch, request_for

NewLoop = Callable[[], asyncio.AbstractEventLoop]


def _loops() -> list[tuple[str, NewLoop]]:
    loops: list[tuple[str, NewLoop]] = [("asyncio", asyncio.new_event_loop)]
    try:
        import uvloop
    except ImportError:  # the serve extra without uvloop (not on Linux)
        return loops
    return [*loops, ("uvloop", uvloop.new_event_loop)]


LOOPS = _loops()
EACH_LOOP = pytest.mark.parametrize("new_loop", [n for _, n in LOOPS], ids=[n for n, _ in LOOPS])
FORKS = pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")
PROC = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the processes from Linux's /proc")


def _run(new_loop: NewLoop, main: Callable[[], Any]) -> Any:
    loop = new_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(main(), 20))
    finally:
        loop.close()


@contextmanager
def _pool(processes: int, work: Callable[..., tuple[Any, ...]]) -> Iterator[Pool]:
    with warnings.catch_warnings():  # Python 3.12+ warns of fork in a process with threads; the child runs no other
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = Pool(processes, work)
    try:
        yield pool
    finally:
        pool.stop()


def _order(new_loop: NewLoop, answer: Callable[[list[str]], Awaitable[object]]) -> list[str]:
    """A request arrives (bytes wait on a socket) just before a call is answered: which comes first?"""
    order: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        receiving, sending = socket.socketpair()
        receiving.setblocking(False)
        try:
            loop.add_reader(receiving, lambda: (receiving.recv(16), order.append("read")))
            sending.send(b"x")
            await answer(order)
            await io_turn()  # so the reader has run either way before it is removed
            loop.remove_reader(receiving)
        finally:
            receiving.close()
            sending.close()

    _run(new_loop, main)
    return order


@EACH_LOOP
def test_a_request_that_arrived_first_is_read_before_the_next_call_is_answered(new_loop: NewLoop) -> None:
    async def by_the_pool(order: list[str]) -> None:
        with _pool(1, lambda: (order.append("answered"),)) as pool:
            await pool.start()
            await pool.answer()

    assert _order(new_loop, by_the_pool) == ["read", "answered"]


def test_a_plain_yield_would_not_do() -> None:
    """`io_turn` is what makes the order above: a bare `sleep(0)` resumes before the loop polls (asyncio)."""

    async def after_a_yield(order: list[str]) -> None:
        await asyncio.sleep(0)
        order.append("answered")

    assert _order(asyncio.new_event_loop, after_a_yield) == ["answered", "read"]


@EACH_LOOP
def test_calls_are_answered_here_in_the_order_they_came_and_a_given_up_one_never(new_loop: NewLoop) -> None:
    answered: list[int] = []

    async def main() -> list[Any]:
        with _pool(1, lambda n: (answered.append(n), n)[1:]) as pool:
            await pool.start()
            calls = [asyncio.ensure_future(pool.answer(n)) for n in range(6)]
            await asyncio.sleep(0)  # all six in line
            calls[2].cancel()  # its client gone, or its deadline passed, before its turn
            return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = _run(new_loop, main)
    assert answered == [0, 1, 3, 4, 5]
    assert [o if not isinstance(o, BaseException) else "cancelled" for o in outcomes] == [
        (0,), (1,), "cancelled", (3,), (4,), (5,),
    ]  # fmt: skip


@EACH_LOOP
def test_an_error_in_a_call_answered_here_reaches_its_caller_and_the_line_goes_on(new_loop: NewLoop) -> None:
    def work(n: int) -> tuple[int]:
        if n == 1:
            raise ValueError("record text that must not be shown")
        return (n,)

    async def main() -> list[Any]:
        with _pool(1, work) as pool:
            await pool.start()
            return await asyncio.gather(*(pool.answer(n) for n in range(3)), return_exceptions=True)

    first, failed, last = _run(new_loop, main)
    assert (first, last) == ((0,), (2,))
    assert isinstance(failed, ValueError)


@FORKS
@PROC
@EACH_LOOP
def test_workers_answer_the_same_share_the_line_and_end_with_the_pool(
    new_loop: NewLoop, caplog: pytest.LogCaptureFixture
) -> None:
    def work(n: int, text: str, body: bytes, nested: dict[str, Any]) -> tuple[Any, ...]:
        time.sleep(0.002)  # long enough that every process gets calls
        return (os.getpid(), n * 2, text.upper(), body[::-1], nested)

    nested = {"a": [1, 2.5, None, True, {"b": "é"}]}

    async def main() -> tuple[list[Any], list[int], int | None]:
        with _pool(3, work) as pool:
            workers, maker = list(pool.pids), pool.maker
            assert maker is not None and sorted(_processes_under(maker)) == sorted(workers)
            await pool.start()
            outcomes = await asyncio.gather(*(pool.answer(n, f"t{n}", bytes([n]) * 3, nested) for n in range(90)))
        return outcomes, workers, maker

    with caplog.at_level(logging.ERROR, logger="osteocheck.serve"):
        outcomes, workers, maker = _run(new_loop, main)
    assert caplog.text == ""  # each worker ended when its socket closed: none was killed
    assert len(workers) == 2
    assert [o[1:] for o in outcomes] == [(n * 2, f"T{n}", bytes([n]) * 3, nested) for n in range(90)]
    by = {pid: sum(o[0] == pid for o in outcomes) for pid in [os.getpid(), *workers]}
    assert all(count >= 5 for count in by.values()), by  # each of the three took its share
    assert not [pid for pid in [*workers, maker] if _exists(pid)], "a process outlived the pool"


@FORKS
@PROC
def test_a_worker_that_fails_or_ends_fails_only_its_own_calls_and_another_takes_its_place(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def work(n: int) -> tuple[Any, ...]:
        if n < 0:
            raise KeyError("record text that must not be shown")
        time.sleep(0.2 if n == 0 else 0)
        return (os.getpid(), n)

    async def main() -> tuple[Any, ...]:
        with _pool(2, work) as pool:
            await pool.start()
            worker = pool.pids[0]
            fault = await _from(pool, worker, -1)
            slow = asyncio.ensure_future(_from(pool, worker, 0))
            await asyncio.sleep(0.05)  # in the worker's hands
            os.kill(worker, signal.SIGKILL)
            lost = (await asyncio.gather(slow, return_exceptions=True))[0]
            after = await asyncio.gather(*(pool.answer(n) for n in range(1, 6)))
            deadline = time.monotonic() + DEADLINE
            while pool.pids == [worker]:
                assert time.monotonic() < deadline, "the worker was not replaced"
                await asyncio.sleep(0.01)
            (new,) = pool.pids
            by_new = await _from(pool, new, 7)
            assert pool.maker is not None
            # The old one reaped: when the maker was asked for the new one, or within its next second
            # (a worker killed may close its socket a moment before it can be reaped).
            while (under := _processes_under(pool.maker)) != [new]:
                assert time.monotonic() < deadline, under
                await asyncio.sleep(0.01)
            return fault, lost, after, worker, new, by_new

    with caplog.at_level(logging.WARNING, logger="osteocheck.serve"):
        fault, lost, after, worker, new, by_new = _run(asyncio.new_event_loop, main)
    assert fault == ("fault", "KeyError")  # the type only: the message may hold the record
    assert isinstance(lost, WorkerGone)
    assert [o[1] for o in after] == [1, 2, 3, 4, 5]
    assert worker not in {o[0] for o in after}  # answered here, or by the new worker
    assert by_new == (new, 7) and new != worker
    assert not _exists(new)  # ended with the pool
    assert "a worker process has ended; 1 calls in its hands fail" in caplog.text
    assert "a new worker process has taken the place of the one that ended" in caplog.text


@FORKS
def test_workers_that_keep_ending_are_replaced_five_times_a_minute_then_this_process_answers_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    here = os.getpid()

    def work(n: int) -> tuple[Any, ...]:
        if os.getpid() != here:
            os._exit(3)  # every worker dies on its first call
        return (n,)

    async def main() -> tuple[int, list[tuple[Any, ...]], list[int]]:
        with _pool(2, work) as pool:
            await pool.start()
            ended, deadline = 0, time.monotonic() + DEADLINE
            while "is not replaced" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                try:
                    await pool.answer(0)
                except WorkerGone:
                    ended += 1
                await asyncio.sleep(0.005)
            return ended, [await pool.answer(n) for n in range(3)], list(pool.pids)

    with caplog.at_level(logging.WARNING, logger="osteocheck.serve"):
        ended, after, pids = _run(asyncio.new_event_loop, main)
    assert ended == 6  # the first worker and its five replacements
    assert after == [(0,), (1,), (2,)]  # answered here
    assert caplog.text.count("a new worker process has taken the place") == 5
    assert "workers have ended 6 times within a minute: this one is not replaced; processes answering: 1" in caplog.text
    assert not [pid for pid in pids if _exists(pid)]


@FORKS
@PROC
@EACH_LOOP
def test_a_stop_while_a_worker_is_replaced_leaves_no_process_and_no_error(
    new_loop: NewLoop, caplog: pytest.LogCaptureFixture
) -> None:
    reported: list[object] = []

    async def main() -> tuple[int, int | None, float]:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        with _pool(2, lambda: ()) as pool:
            await pool.start()
            (worker,), maker = pool.pids, pool.maker
            os.kill(worker, signal.SIGKILL)
            deadline = time.monotonic() + DEADLINE
            while not pool._replacing:  # its end seen, and another asked of the maker
                assert time.monotonic() < deadline, "the end of the worker went unseen"
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.001 * (new_loop is asyncio.new_event_loop))  # the request sent, or not yet
            stopping = time.monotonic()
        stopped = time.monotonic() - stopping
        for _ in range(3):
            await asyncio.sleep(0.01)
        return worker, maker, stopped

    with caplog.at_level(logging.WARNING, logger="osteocheck.serve"):
        worker, maker, stopped = _run(new_loop, main)
    assert reported == []
    # A worker made as the stop came ends with it: the maker never has to wait out WORKER_WAIT and kill
    # it (the maker once kept the worker's end when its socket to this process was already closed).
    assert stopped < forked.WORKER_WAIT
    assert maker is not None and not _exists(maker) and not _exists(worker)
    assert "could not be replaced" not in caplog.text and "did not end" not in caplog.text


@FORKS
@PROC
@EACH_LOOP
def test_workers_that_end_together_are_each_replaced(new_loop: NewLoop) -> None:
    async def main() -> tuple[list[int], list[int], set[int]]:
        with _pool(4, lambda _n: (os.getpid(),)) as pool:
            await pool.start()
            first = list(pool.pids)
            for pid in first:
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + DEADLINE
            while set(pool.pids) & set(first) or len(pool._replacing):
                assert time.monotonic() < deadline, (first, pool.pids)
                await asyncio.sleep(0.01)
            # sent in one pass of the loop, so each goes to a worker with none in hand
            answered = {pid for (pid,) in await asyncio.gather(*(pool.answer(0) for _ in range(3)))}
            return first, list(pool.pids), answered

    first, now, answered = _run(new_loop, main)
    assert len(now) == 3 and not set(now) & set(first)
    assert answered == set(now)  # each new worker answers


@FORKS
@PROC
def test_with_the_maker_gone_a_worker_that_ends_is_not_replaced_and_the_rest_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> tuple[list[tuple[Any, ...]], int | None]:
        with _pool(2, lambda n: (n,)) as pool:
            await pool.start()
            maker = pool.maker
            assert maker is not None
            os.kill(maker, signal.SIGKILL)
            os.kill(pool.pids[0], signal.SIGKILL)
            deadline = time.monotonic() + DEADLINE
            while "could not be replaced" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                await asyncio.sleep(0.01)
            return [await pool.answer(n) for n in range(3)], maker

    with caplog.at_level(logging.WARNING, logger="osteocheck.serve"):
        after, maker = _run(asyncio.new_event_loop, main)
    assert after == [(0,), (1,), (2,)]  # answered here
    assert "a worker process could not be replaced: the worker maker has ended" in caplog.text
    assert not _exists(maker)  # reaped at the stop


@pytest.mark.parametrize(
    ("message", "fds", "said"),
    [(b"", [], "the worker maker has ended"), (struct.pack("!q", -errno.EAGAIN), [], os.strerror(errno.EAGAIN)),
     (struct.pack("!q", 1234), [], "the worker maker sent no socket")],
    ids=["maker-gone", "maker-could-not", "no-socket"],
)  # fmt: skip
def test_a_maker_answer_without_a_worker_is_an_error(message: bytes, fds: list[int], said: str) -> None:
    with pytest.raises(OSError, match=said):
        forked._made(message, fds)


async def _from(pool: Pool, worker: int, n: int) -> Any:
    """A call answered by `worker`: sent while this process is busy, so the worker takes it."""
    future = asyncio.ensure_future(pool.answer(n))
    hand = pool._hands[pool.pids.index(worker)]
    while future not in hand.waiting and not future.done():
        await asyncio.sleep(0)
    return await future


@pytest.fixture(scope="module")
def stub() -> Iterator[FhirStub]:
    found = FhirStub()
    yield found
    found.close()


def _calls(stub: FhirStub) -> list[dict[str, Any]]:
    """The example requests, each record as its prefetch, and one with no prefetch (fetched with the token)."""
    examples = ROOT / "examples" / "cds-hooks"
    calls = [json.loads((examples / f"{hook}.json").read_text()) for hook in ("patient-view", "appointment-book")]
    return [*calls, *(request_for(path) for path in RECORDS), _without_prefetch(stub)]


def _service(request: dict[str, Any]) -> str:
    return "osteocheck-appointment-book" if request["hook"] == "appointment-book" else "osteocheck-patient-view"


def _cards(answer: dict[str, Any], port: int) -> str:
    """The cards without the service's address and the link's token, which is new every time."""
    text = json.dumps(answer["cards"]).replace(f"http://127.0.0.1:{port}/", "/")
    return re.sub(r"/plans/[A-Za-z0-9_-]+", "/plans/TOKEN", text)


def _exists(pid: int) -> bool:
    """Running, or ended and not yet reaped."""
    return Path(f"/proc/{pid}").exists()


def _processes_under(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):  # a process that ended meanwhile
            continue
    return found


@FORKS
@PROC
def test_serve_with_two_workers_answers_as_one_process_does_and_stops_with_its_worker(stub: FhirStub) -> None:
    calls = _calls(stub)
    answers: dict[str, list[Any]] = {}
    for workers in ("1", "2"):
        for server in serving("--workers", workers, "--fhir-server", stub.base):
            with ThreadPoolExecutor(20) as threads:
                got = list(threads.map(server.hook, [_service(r) for r in calls * 3], calls * 3))
            assert {status for status, _ in got} == {200}, got
            answers[workers] = [_cards(answer, server.port) for _, answer in got]
            links = [answer["cards"][-1]["links"][0]["url"] for _, answer in got]
            with ThreadPoolExecutor(20) as threads:  # each on a new connection, whichever process made the plan
                opened = list(threads.map(server.call, ["GET"] * len(links), [urlsplit(u).path for u in links]))
            assert {status for status, _, _ in opened} == {200}, opened
            assert server.pid is not None
            maker = _processes_under(server.pid)  # the maker, which forks the workers
            children = [*maker, *(pid for m in maker for pid in _processes_under(m))]
            assert len(maker) == (int(workers) > 1) and len(children) == 2 * len(maker), children
            os.kill(server.pid, signal.SIGTERM)
            deadline = time.monotonic() + DEADLINE
            while (
                Path(f"/proc/{server.pid}/stat").exists() and " Z " not in Path(f"/proc/{server.pid}/stat").read_text()
            ):
                assert time.monotonic() < deadline, "the service did not stop"
                time.sleep(0.05)
            assert not [pid for pid in children if _exists(pid)], "a worker or the maker outlived the service"
            log = server.log.read_text()
            assert "stopped by SIGTERM" in log and "Traceback" not in log, log
            assert "worker process has ended" not in log and "did not end" not in log, log  # each ended by itself
    assert answers["2"] == answers["1"]


@EACH_LOOP
def test_a_turn_given_up_while_waiting_leaves_no_error(new_loop: NewLoop) -> None:
    reported: list[object] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        waiting = asyncio.ensure_future(io_turn())
        await asyncio.sleep(0)
        waiting.cancel()  # the service stopping before the loop's next turn
        for _ in range(3):
            await asyncio.sleep(0.01)
        assert waiting.cancelled()

    _run(new_loop, main)
    assert reported == []


@FORKS
@PROC
def test_a_worker_that_cannot_start_ends_the_workers_already_forked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    socketpair, made, forked = socket.socketpair, [], tmp_path / "forked"

    def two_only() -> tuple[socket.socket, socket.socket]:  # the maker's socket, and one worker's
        if len(made) == 2:  # in the maker, asked for a second worker: the system's limit on open files
            forked.write_text(" ".join(map(str, [os.getpid(), *_processes_under(os.getpid())])))
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        made.append(1)
        return socketpair()

    monkeypatch.setattr(socket, "socketpair", two_only)
    with pytest.raises(OSError, match=os.strerror(errno.EMFILE)), _pool(3, lambda: ()):
        pass
    maker, worker = map(int, forked.read_text().split())  # the maker, and the worker it had made
    assert not _exists(maker) and not _exists(worker)  # both ended and reaped: nothing half started is left


@FORKS
@PROC
def test_calls_a_worker_held_when_it_died_are_503_and_the_service_goes_on() -> None:
    request = json.loads((ROOT / "examples" / "cds-hooks" / "patient-view.json").read_text())
    for server in serving("--workers", "2"):
        assert server.pid is not None
        (maker,) = _processes_under(server.pid)
        (worker,) = _processes_under(maker)
        os.kill(worker, signal.SIGSTOP)  # it takes the first two calls, and answers neither
        with ThreadPoolExecutor(3) as threads:
            calls = [threads.submit(server.hook, "osteocheck-patient-view", request) for _ in range(3)]
            deadline = time.monotonic() + DEADLINE
            while sum(call.done() for call in calls) < 1:  # the third, answered by the serving process
                assert time.monotonic() < deadline, "no call was answered"
                time.sleep(0.02)
            os.kill(worker, signal.SIGKILL)
            answers = sorted((call.result() for call in calls), key=lambda answer: answer[0])
        assert [status for status, _ in answers] == [200, 503, 503]
        assert answers[1][1] == {
            "error": "a worker process ended while answering this call; send it again",
            "status": 503,
        }
        deadline = time.monotonic() + DEADLINE
        while _processes_under(maker) in ([], [worker]):  # reaped by the maker, and another in its place
            assert time.monotonic() < deadline, "the worker was not replaced"
            time.sleep(0.02)
        later = [("osteocheck-patient-view", request)] * 8
        with ThreadPoolExecutor(4) as threads:  # and later calls are answered, the new worker taking its share
            assert {status for status, _ in threads.map(server.hook, *zip(*later, strict=True))} == {200}
        log = server.log.read_text()
        assert "a worker process has ended; 2 calls in its hands fail" in log and "Traceback" not in log, log
        assert "a new worker process has taken the place of the one that ended" in log, log


class _Wire:
    """A transport that keeps what the serving process writes to a worker."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def writelines(self, parts: tuple[bytes, ...]) -> None:
        self.sent.append(b"".join(parts))

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    "answer",
    [
        lambda first, second: (second, ("cards", b"another call's", b"")),  # the second call's answer first
        lambda first, second: (first + 1000, ("cards", b"", b"")),  # a number never sent
        lambda first, second: first,  # no outcome
        None,  # not marshal at all
    ],
    ids=["another-call", "unknown-number", "no-outcome", "garbage"],
)
def test_an_answer_for_another_call_is_never_passed_on(
    answer: Callable[[int, int], object] | None, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> tuple[list[BaseException | tuple[Any, ...]], _Wire, bool]:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()  # the hand's socket: unused, the wire stands in for it
        with _pool(1, lambda: ()) as pool, ours, theirs:
            hand = _Hand(pool, ours, 0)
            wire = _Wire()
            hand.connection_made(wire)  # type: ignore[arg-type]
            calls: list[asyncio.Future[tuple[Any, ...]]] = [loop.create_future(), loop.create_future()]
            for n, call in enumerate(calls):
                hand.send((n,), call)
            numbers = [marshal.loads(sent[8:])[0] for sent in wire.sent]  # noqa: S302 - written just above
            data = b"\x00garbage" if answer is None else marshal.dumps(answer(*numbers))
            hand.data_received(struct.pack("!Q", len(data)) + data)
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
            return outcomes, wire, hand.alive

    with caplog.at_level(logging.ERROR, logger="osteocheck.serve"):
        outcomes, wire, alive = _run(asyncio.new_event_loop, main)
    assert all(isinstance(o, WorkerGone) for o in outcomes), outcomes  # both fail: neither gets cards
    assert wire.closed and not alive
    assert "cut off; 2 calls in its hands fail" in caplog.text


def test_answers_that_echo_their_calls_are_passed_on_in_order() -> None:
    async def main() -> list[tuple[Any, ...]]:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()  # the hand's socket: unused, the wire stands in for it
        with _pool(1, lambda: ()) as pool, ours, theirs:
            hand = _Hand(pool, ours, 0)
            wire = _Wire()
            hand.connection_made(wire)  # type: ignore[arg-type]
            calls: list[asyncio.Future[tuple[Any, ...]]] = [loop.create_future() for _ in range(3)]
            for n, call in enumerate(calls):
                hand.send((n,), call)
            frames = b""
            for sent in wire.sent:
                number, (n,) = marshal.loads(sent[8:])  # noqa: S302 - written just above
                data = marshal.dumps((number, ("cards", n)))
                frames += struct.pack("!Q", len(data)) + data
            hand.data_received(frames[:5])  # in pieces, as a socket delivers them
            hand.data_received(frames[5:])
            return list(await asyncio.gather(*calls))

    assert _run(asyncio.new_event_loop, main) == [("cards", 0), ("cards", 1), ("cards", 2)]
