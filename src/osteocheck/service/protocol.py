"""uvicorn's HTTP protocol with a time limit on a request's line and headers.

uvicorn sets none: a client could open connections and send nothing, or a byte a minute, and hold
them for ever (the body and the answer are under the call's own deadline, once the headers are in;
an idle kept-alive connection is closed after 5 s). Here a connection whose request has not finished
its headers within `within` seconds of starting (the connection opening, or the request's
first byte) is closed.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeadersInTime(HttpToolsProtocol):
    within = 20.0  # seconds
    _headers_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._headers_timer = self.loop.call_later(self.within, self._too_slow)

    def _disarm(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _too_slow(self) -> None:
        self._headers_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def headers_within(seconds: float) -> type[HttpToolsProtocol]:
    """The protocol for uvicorn, with `seconds` for a request's line and headers (from --timeout)."""
    return type("HeadersInTime", (HeadersInTime,), {"within": seconds})
