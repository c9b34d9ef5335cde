"""Running the service under uvicorn: one process, or several workers that each load the knowledge once."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from osteocheck.service import protocol
from osteocheck.service.app import Settings, create_app
from osteocheck.service.balance import Spread, create, remove

if TYPE_CHECKING:
    from starlette.applications import Starlette

_ENV = "OSTEOCHECK_SERVE_SETTINGS"  # how the settings reach worker processes
_SPREAD_ENV = "OSTEOCHECK_SERVE_SPREAD"  # and the workers' shared file of connection counts


def app_from_env() -> object:
    """The app for a uvicorn worker (factory), from the settings the parent process put in the environment."""
    raw = json.loads(os.environ[_ENV])
    raw["cors_origins"], raw["fhir_servers"] = tuple(raw["cors_origins"]), tuple(raw["fhir_servers"])
    settings = Settings(**raw)
    _log_to_stderr()  # a worker is a new process: without this its request lines would go nowhere
    protocol.HEADERS_WITHIN = settings.timeout
    spread = json.loads(os.environ.get(_SPREAD_ENV, "null"))
    if spread is not None:
        protocol.SPREAD = Spread(spread["folder"], spread["workers"])
    return create_app(settings)


def _log_to_stderr() -> None:
    # The lines name no thread or process: not looking them up saves a quarter of a line's cost
    # (the logging HOWTO's "Optimization"), a line a call.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


def uvicorn_options(settings: Settings, *, host: str, port: int, workers: int = 1) -> dict[str, Any]:
    """How uvicorn serves the app (for `serve`, and for the tests that start it)."""
    protocol.HEADERS_WITHIN = settings.timeout
    return {
        "host": host,
        "port": port,
        # uvicorn's own, with a deadline for the headers, and with workers their even shares of connections
        "http": protocol.SpreadEvenly if workers > 1 else protocol.HeadersInTime,
        "access_log": False,  # uvicorn's access log prints paths and query strings; ours prints neither
        "log_level": "warning",
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 5,
        "server_header": False,
    }


def serve(app: Starlette, settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Serve `app` (already made, so its knowledge was checked before the port opened); with several
    workers each process makes its own from the same settings."""
    import uvicorn  # noqa: PLC0415 - the serve extra

    _log_to_stderr()
    options = uvicorn_options(settings, host=host, port=port, workers=workers)
    if workers > 1:
        os.environ[_ENV] = json.dumps(settings._asdict())
        shared = create(workers)
        if shared is not None:
            os.environ[_SPREAD_ENV] = json.dumps({"folder": shared, "workers": workers})
        try:
            uvicorn.run("osteocheck.service.run:app_from_env", factory=True, workers=workers, **options)
        finally:
            if shared is not None:
                remove(shared)
    else:
        uvicorn.run(app, **options)
