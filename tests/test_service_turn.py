"""A service call plans only after the event loop has polled its sockets, so calls are taken in the order
their requests arrived (`service.app._io_turn`), under the standard loop and under uvloop alike."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed")

from osteocheck.service.app import Settings, _InArrivalOrder, _io_turn, create_app


def _loops() -> list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]]:
    loops: list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]] = [("asyncio", asyncio.new_event_loop)]
    try:
        import uvloop
    except ImportError:  # the serve extra without uvloop (not on Linux)
        return loops
    return [*loops, ("uvloop", uvloop.new_event_loop)]


LOOPS = _loops()


def _run(new_loop: Callable[[], asyncio.AbstractEventLoop], main: Callable[[], object]) -> None:
    loop = new_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(main(), 10))  # type: ignore[arg-type]
    finally:
        loop.close()


def _order(new_loop: Callable[[], asyncio.AbstractEventLoop], wait: Callable[[], Awaitable[None]]) -> list[str]:
    """A request arrives while a call holds the loop; the call then waits with `wait` and goes on: which first?"""
    order: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        receiving, sending = socket.socketpair()
        receiving.setblocking(False)
        try:
            loop.add_reader(receiving, lambda: (receiving.recv(16), order.append("read")))
            sending.send(b"x")
            await wait()
            order.append("planned")
            await _io_turn()  # so the reader has run either way before it is removed
            loop.remove_reader(receiving)
        finally:
            receiving.close()
            sending.close()

    _run(new_loop, main)
    return order


@pytest.mark.parametrize(("name", "new_loop"), LOOPS, ids=[n for n, _ in LOOPS])
def test_a_request_that_arrived_first_is_read_before_the_call_goes_on(
    name: str, new_loop: Callable[[], asyncio.AbstractEventLoop]
) -> None:
    assert _order(new_loop, _io_turn) == ["read", "planned"], name


def test_every_request_of_the_app_waits_its_turn() -> None:
    """The app runs every HTTP request through the turn, before any route (and its CPU-bound part)."""
    handled: list[str] = []

    async def route(scope: object, receive: object, send: object) -> None:
        handled.append("handled")

    async def request() -> None:
        await _InArrivalOrder(route)({"type": "http"}, None, None)  # type: ignore[arg-type]

    assert _order(asyncio.new_event_loop, request) == ["read", "planned"]
    assert handled == ["handled"]
    assert _InArrivalOrder in [m.cls for m in create_app(Settings()).user_middleware]


def test_a_plain_yield_would_not_do() -> None:
    """The test above tells the two apart: a bare `sleep(0)` resumes before the loop polls (asyncio)."""
    assert _order(asyncio.new_event_loop, lambda: asyncio.sleep(0)) == ["planned", "read"]


@pytest.mark.parametrize(("name", "new_loop"), LOOPS, ids=[n for n, _ in LOOPS])
def test_a_call_cancelled_while_waiting_leaves_no_error(
    name: str, new_loop: Callable[[], asyncio.AbstractEventLoop]
) -> None:
    reported: list[object] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        waiting = asyncio.ensure_future(_io_turn())
        await asyncio.sleep(0)
        waiting.cancel()  # a client gone, or the call's deadline, before the loop's next turn
        for _ in range(3):
            await asyncio.sleep(0.01)
        assert waiting.cancelled()

    _run(new_loop, main)
    assert reported == [], name
