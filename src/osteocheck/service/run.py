"""Running the service under uvicorn: one process speaks HTTP; with `workers` > 1, worker processes
answer the hook calls (pool.py)."""

from __future__ import annotations

import errno
import logging
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from osteocheck.service import protocol
from osteocheck.service.app import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from osteocheck.service.pool import Pool


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the app (for `serve`, and for the tests that start it)."""
    return {
        "http": protocol.headers_within(settings.timeout),  # uvicorn's own, with a deadline for the headers
        "access_log": False,  # uvicorn's access log prints paths and query strings; ours prints neither
        "log_level": "warning",
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 5,
        "server_header": False,
    }


FILES_NEEDED = 64  # besides a socket a worker: stdio, the event loop's, the port, and ~50 connections


class NotStarted(Exception):
    """The service could not start: what to tell the user, and the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def listen(host: str, port: int) -> list[socket.socket]:
    """The listening sockets, bound now, one for each address `host` names, as asyncio (and so uvicorn)
    binds them: a port in use is said plainly, and port 0 gets one real port for all of them."""
    listening: list[socket.socket] = []
    try:
        found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, protocol, _, where in dict.fromkeys(found):
            listening.append(socket.socket(family, kind, protocol))
            listening[-1].setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # each family its own socket, as asyncio has it
                listening[-1].setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(listening) > 1:  # the port the first one got
                where = (where[0], listening[0].getsockname()[1], *where[2:])
            listening[-1].bind(where)
            listening[-1].listen(2048)
    except OSError as error:
        for sock in listening:
            sock.close()
        raise NotStarted(f"cannot listen on {address(host, port)}: {_why(error, host, port)}", 2) from None
    return listening


def _why(error: OSError, host: str, port: int) -> str:
    if isinstance(error, socket.gaierror):
        return f"no address found for --host {host} ({error.strerror})"
    if error.errno == errno.EADDRINUSE:
        return f"port {port} is in use there; stop what listens on it, or choose another --port"
    if error.errno == errno.EACCES:
        return "not allowed (ports below 1024 need privileges); choose another --port"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine; choose another --host"
    return error.strerror or str(error)


def _enough_files(workers: int) -> None:
    """Refuse to start where the process may not open enough files: a socket for each worker, the
    event loop's, and one a connection (else the event loop fails half started, or aborts)."""
    if sys.platform == "win32":
        return
    import resource  # noqa: PLC0415 - POSIX only

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    needed = FILES_NEEDED + workers
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise NotStarted(
            f"this process may have only {soft} files open (ulimit -n); with --workers {workers} the service"
            f" needs {needed} or more: raise the limit",
            1,
        )


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def serve(app: Starlette, settings: Settings, *, host: str, port: int, started: Callable[[str], None]) -> None:
    """Serve `app` (already made, so its knowledge was checked before the port opened). The workers are
    forked first, before the port opens and before any thread; `started` is told the service's URL once
    the port is open. Raises NotStarted."""
    import uvicorn  # noqa: PLC0415 - the serve extra

    _enough_files(settings.workers)
    try:
        workers: Pool = app.state.fork_workers()
    except OSError as error:
        raise NotStarted(f"could not start the worker processes: {error.strerror or error}", 1) from None
    try:
        listening = listen(host, port)
    except NotStarted:
        workers.stop()
        raise
    bound = listening[0].getsockname()
    started(f"http://{address(host or bound[0], bound[1])}/cds-services")
    # The lines name no thread or process: not looking them up saves a quarter of a line's cost
    # (the logging HOWTO's "Optimization"), a line a call.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(settings)))
    try:
        server.run(sockets=listening)
    finally:
        for sock in listening:
            sock.close()
        workers.stop()  # the app's end stopped them already, unless uvicorn ended before its start-up
    if not server.started:
        raise NotStarted("the service did not start; the lines above say why", 1)
