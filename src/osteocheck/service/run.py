"""Running the service under uvicorn: one process speaks HTTP; with `workers` > 1, worker processes
answer the hook calls (pool.py)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from osteocheck.service import protocol
from osteocheck.service.app import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette


def uvicorn_options(settings: Settings, *, host: str, port: int) -> dict[str, Any]:
    """How uvicorn serves the app (for `serve`, and for the tests that start it)."""
    return {
        "host": host,
        "port": port,
        "http": protocol.headers_within(settings.timeout),  # uvicorn's own, with a deadline for the headers
        "access_log": False,  # uvicorn's access log prints paths and query strings; ours prints neither
        "log_level": "warning",
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 5,
        "server_header": False,
    }


def serve(app: Starlette, settings: Settings, *, host: str, port: int) -> None:
    """Serve `app` (already made, so its knowledge was checked before the port opened)."""
    import uvicorn  # noqa: PLC0415 - the serve extra

    # The lines name no thread or process: not looking them up saves a quarter of a line's cost
    # (the logging HOWTO's "Optimization"), a line a call.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(app, **uvicorn_options(settings, host=host, port=port))
