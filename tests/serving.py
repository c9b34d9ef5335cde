"""The service for a test: started on a free port (its own process, or a thread here), stopped after."""

from __future__ import annotations

import http.client
import json
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from processes import spawn

TIMEOUT = 30.0


class Server(NamedTuple):
    port: int
    log: Path
    pid: int | None = None  # the serving process, when it is not this one

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def hook(self, service: str, request: object, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        status, _, body = self.call(
            "POST",
            f"/cds-services/{service}",
            json.dumps(request).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )
        return status, json.loads(body)


ANNOUNCED = re.compile(r"CDS Hooks service on http://127\.0\.0\.1:(\d+)/cds-services")


def serving(*extra: str) -> Iterator[Server]:
    """`osteocheck serve` as a user starts it: its own process, its log on stderr. On port 0, so the
    service binds a free port itself and says which (no other test can take it in between)."""
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "serve.log"
        argv = [sys.executable, "-m", "osteocheck", "serve", "--port", "0", *extra]
        with log.open("w") as out, spawn(argv, output=out) as child:
            deadline = time.monotonic() + 30
            port = None
            while True:
                if port is None and (found := ANNOUNCED.search(log.read_text())):
                    port = int(found[1])
                try:
                    if port is not None and Server(port, log).call("GET", "/cds-services")[0] == 200:
                        break
                except OSError:
                    pass
                if child.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the service did not start: {log.read_text()[-2000:]}")
                time.sleep(0.05)
            yield Server(port, log, child.pid)


def serving_here(settings: Any) -> Iterator[Server]:
    """The real server (uvicorn, real HTTP on a free port) in a thread of this process, so coverage sees it
    (in one process: workers are forked, which a test runs with `serving`)."""
    import logging

    import uvicorn

    from osteocheck.service.app import create_app
    from osteocheck.service.run import listen, uvicorn_options

    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "serve.log"
        handler = logging.FileHandler(log)
        logger = logging.getLogger("osteocheck.serve")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        listening = listen("127.0.0.1", 0)
        port = listening[0].getsockname()[1]
        running = uvicorn.Server(uvicorn.Config(create_app(settings), **uvicorn_options(settings)))
        thread = threading.Thread(target=running.run, kwargs={"sockets": listening}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not running.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    pytest.fail("the service did not start")
                time.sleep(0.02)
            yield Server(port, log)
        finally:
            running.should_exit = True
            thread.join(15)
            for sock in listening:
                sock.close()
            logger.removeHandler(handler)
            handler.close()
            assert not thread.is_alive(), "the service did not stop"
