"""The CDS Hooks service as an ASGI app (Starlette): discovery, the two hooks, the rules, the full plans.

The knowledge and the code map are loaded once, when the app is made; a request is read within a
size limit and a deadline, and every refusal is a JSON error with a 4xx status. Logs carry the
route, the status and the time taken: never the record, the patient or the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import gc
import logging
from typing import TYPE_CHECKING, Any, NamedTuple

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from osteocheck import api
from osteocheck.errors import OsteocheckError
from osteocheck.service import hooks, wire
from osteocheck.service.asgi import HookCalls, Logged, read_body, read_headers
from osteocheck.service.cards import plan_cards
from osteocheck.service.fetch import Fetcher
from osteocheck.service.forked import Work
from osteocheck.service.plans import Plans, made_of
from osteocheck.service.pool import Pool, WorkerGone
from osteocheck.service.request import Refused, as_bundle, parse
from osteocheck.service.wire import Json
from osteocheck.words import one_line

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from starlette.types import Receive, Scope

    from osteocheck.engine.model import Knowledge, Plan

log = logging.getLogger("osteocheck.serve")


class Settings(NamedTuple):
    rules: str | None = None  # knowledge file; None: the shipped one
    max_body: int = 4 * 1024 * 1024
    timeout: float = 20.0  # seconds for one request, fetching included
    cors_origins: tuple[str, ...] = ()
    jwks: str | None = None
    issuer: str | None = None
    fhir_servers: tuple[str, ...] = ()  # servers the service may fetch from when the EHR sent no prefetch
    public_url: str | None = None  # the base URL the EHR uses, when a proxy stands in front
    plans_kept: int = 1000  # full plans kept for the link card (in memory only, for `plan_ttl` seconds)
    plan_ttl: float = 15 * 60
    workers: int = 1  # processes that answer the hook calls (pool.py); 1: this one


def error(status: int, message: str) -> Response:
    """A refusal as a response: the JSON error every route answers with (`_error`)."""
    status, body = _error(status, message)
    return Response(body, status, media_type="application/json")


def create_app(settings: Settings) -> Starlette:
    """The app, with the knowledge loaded and checked now (an invalid file fails here, before serving)."""
    knowledge = api.load_knowledge(settings.rules)
    if knowledge.warnings:
        log.warning("knowledge %s: %d warning(s); osteocheck validate lists them", knowledge.path, knowledge.warnings)
    codes = api.code_map()
    templates = functools.lru_cache(maxsize=1)(functools.partial(hooks.prefetch_templates, codes))  # by the day
    fetcher = Fetcher(
        settings.fhir_servers, timeout=min(10.0, settings.timeout), max_bytes=settings.max_body, total=settings.timeout
    )
    verifier = None
    if settings.jwks:
        from osteocheck.service.auth import Verifier  # noqa: PLC0415 - PyJWT only when keys are configured

        verifier = Verifier(settings.jwks, issuer=settings.issuer)
    plans = Plans(settings.plans_kept, settings.plan_ttl)
    work = answering(knowledge, tuple(templates(dt.date.today())), fetcher.allows)
    pool: list[Pool] = []  # the processes that answer calls, from the app's start-up to its end

    async def answer(*args: Any) -> tuple[Any, ...]:
        if not pool:
            raise RuntimeError("the app has not started")  # a 500, said in one line
        return await pool[0].answer(*args)

    ahead: list[Pool] = []  # forked by `serve` before its port opened; the start-up takes them

    def fork_workers() -> Pool:
        """The processes that answer, forked now, so they share what is loaded."""
        _frozen()
        ahead.append(Pool(settings.workers, work))
        return ahead[-1]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not ahead:
            fork_workers()
        answering_here = ahead.pop()
        try:
            await answering_here.start()
            pool.append(answering_here)
            yield
        finally:
            pool.clear()
            answering_here.stop()

    bases: dict[tuple[object, ...], str] = {}

    def base(scope: Scope, host: str | None) -> str:
        """The service's own URL, for the link card: Starlette's reading of the request, kept by what it
        reads (a few clients send the same few Host headers; a sender of many fills no more than 64)."""
        if settings.public_url:
            return settings.public_url.rstrip("/")
        server = scope.get("server")  # ASGI: an iterable of host and port (a list under some servers)
        where = tuple(server) if isinstance(server, list | tuple) else None
        key = (scope.get("scheme"), where, scope.get("app_root_path", scope.get("root_path")), host)
        found = bases.get(key)
        if found is None:
            if len(bases) >= 64:
                bases.clear()
            found = bases[key] = str(HTTPConnection(scope).base_url).rstrip("/")
        return found

    async def discover(request: Request) -> Response:
        return Json(hooks.discovery(templates(dt.date.today())))

    async def hook(service_id: str, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        """A hook call's status and JSON answer (`HookCalls` sends it; the route below for the rest)."""
        service = hooks.BY_ID.get(service_id)
        if service is None:
            return _error(404, "no such CDS service; GET /cds-services lists them")
        headers = read_headers(scope)
        here = base(scope, headers.get("host"))
        try:
            if verifier is not None:
                # off the event loop: with --jwks URL, a key not yet seen means fetching the key set
                await asyncio.to_thread(
                    verifier.verify, headers.get("authorization"), f"{here}/cds-services/{service.id}"
                )
            if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                raise Refused(415, "send the request as application/json")
            async with asyncio.timeout(
                settings.timeout
            ):  # the body too: a slow sender is cut off; no task, unlike wait_for
                body = await read_body(receive, headers.get("content-length"), settings.max_body)
                return await _answer(service.hook, body, here)
        except Refused as refused:
            return _error(refused.status, refused.message)
        except TimeoutError:
            return _error(504, f"the request took longer than {settings.timeout:g} seconds")
        except WorkerGone:  # the pool has said so in the log; the other processes go on
            return _error(503, "a worker process ended while answering this call; send it again")
        except Exception as exc:  # noqa: BLE001 - a fault of ours: said in one line, never a traceback of the record
            log.error("internal error: %s", type(exc).__name__)
            return _error(500, "internal error")

    async def _answer(hook: str, body: bytes, here: str) -> tuple[int, bytes]:
        token = plans.token()
        link = f"{here}/plans/{token}"
        outcome = await answer(hook, body, here, link, None)
        if outcome[0] == "fetch":  # a prefetch left out: fetched here, read by a worker
            _, server, patient, auth, unmet = outcome
            fetched = await asyncio.to_thread(
                fetcher.read, templates(dt.date.today()), unmet, server, patient, auth, hooks.OPTIONAL
            )
            outcome = await answer(hook, body, here, link, fetched)
        if outcome[0] == "refused":
            return _error(outcome[1], outcome[2])
        if outcome[0] == "fault":
            log.error("internal error: %s", outcome[1])
            return _error(500, "internal error")
        plans.keep(token, outcome[2])
        return 200, outcome[1]

    async def call(request: Request) -> Response:
        """The hook calls' route (what it answers to, and 405 for other methods): `HookCalls` answers them first."""
        status, body = await hook(request.path_params["id"], request.scope, request.receive)
        return Response(body, status, media_type="application/json")

    async def rule(request: Request) -> Response:
        wanted = request.path_params["rule"]
        for r in knowledge.rules:
            if r.id == wanted:
                source = r.basis.source
                return Json(
                    {
                        "rule": r.id,
                        "text": r.text,
                        "severity": r.severity.value,
                        "source": {"title": source.title, "quote": source.quote},
                        "inferred": r.basis.inference,
                        "knowledge": {"id": knowledge.id, "version": knowledge.version},
                    }
                )
        return error(404, "no such rule")

    async def full_plan(request: Request) -> Response:
        plan = plans.get(request.path_params["token"], knowledge)
        if plan is None:
            return error(404, "no such plan (plans are kept for a short time only)")
        from osteocheck.render.markdown import plan_markdown  # noqa: PLC0415

        return PlainTextResponse(plan_markdown(plan, knowledge), headers=_PRIVATE_PAGE)

    async def feedback(request: Request) -> Response:
        if hooks.BY_ID.get(request.path_params["id"]) is None:
            return error(404, "no such CDS service")
        try:
            await read_body(request.receive, request.headers.get("content-length"), settings.max_body)
        except Refused as refused:
            return error(refused.status, refused.message)
        return Json({})

    routes = [
        Route("/cds-services", discover, methods=["GET"]),
        Route("/cds-services/{id}", call, methods=["POST"]),
        Route("/cds-services/{id}/feedback", feedback, methods=["POST"]),
        Route("/rules/{rule}", rule, methods=["GET"]),
        Route("/plans/{token}", full_plan, methods=["GET"]),
    ]
    middleware = [Middleware(Logged)]
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware  # noqa: PLC0415

        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
            )
        )
    middleware.append(Middleware(HookCalls, hook=hook))  # inside the log line and CORS, ahead of the router
    made = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: _not_found, 405: _not_allowed, 500: _failed},
        lifespan=lifespan,
    )
    made.state.fork_workers = fork_workers  # for `serve`: run.py
    return made


def answering(knowledge: Knowledge, keys: tuple[str, ...], allows: Callable[[str], bool]) -> Work:
    """A hook call's answer from its body, in this process or a worker's: ("cards", the JSON, `made_of`
    the plan); ("refused", status, message); or ("fetch", server, patient, token, the keys to read)
    when the EHR left one of the prefetch `keys` out, and the call comes again with what was fetched.

    A plan is never made without a prefetch the templates ask for, whole: the EHR leaves one out (or
    sends an OperationOutcome in its place) when it could not run the query, may send only the first
    page of a long search, and a plan made without, say, the medications would be quieter than the
    record. With no fhirServer to read it from, the call is 412, as CDS Hooks says. `hooks.OPTIONAL`
    are the exception: a search not every server runs, planned without when not given whole, and said;
    asked of the FHIR server only when `allows` it (else the call would be read twice for nothing)."""

    def work(hook: str, body: bytes, base: str, link: str, fetched: dict[str, Any] | None) -> tuple[Any, ...]:
        try:
            call = parse(body, hook)
            prefetched = dict(call.prefetch)
            if fetched is not None:
                prefetched.update(fetched)
            part: dict[str, str] = {}
            bundle = as_bundle(prefetched, part)  # a malformed prefetch is a 400 first
            why = {key: _unmet(prefetched, key, part) for key in keys}
            unmet = [key for key in keys if why[key] is not None]
            needed = [key for key in unmet if key not in hooks.OPTIONAL]
            if needed:
                listed = ", ".join(key + (f" ({why[key]})" if why[key] else "") for key in needed)
                if fetched is not None:  # read from the FHIR server, which could not run the query either
                    raise Refused(502, f"the FHIR server could not answer the query for {listed}")
                if not call.fhir_server:
                    raise Refused(
                        412,
                        f"the request lacks the prefetch {listed} and names no fhirServer to read it from; send "
                        "it whole (null when the EHR has no such data), or fhirServer and fhirAuthorization",
                    )
            if unmet and fetched is None and call.fhir_server and (needed or allows(call.fhir_server)):
                return ("fetch", call.fhir_server, call.patient, call.token, unmet)
            notes = tuple(_without(key, why[key], fetched) for key in unmet)  # optional ones: planned without
            if any(key in prefetched for key in unmet):  # nothing of a search in part (the rest may hold the
                # worse reading), nor the outcome sent in place of one
                bundle = as_bundle({key: value for key, value in prefetched.items() if key not in unmet})
            plan = _plan(bundle, call.patient, knowledge, call.session, notes)
            booked = hook == "appointment-book"
            cards = plan_cards(plan, knowledge, base_url=base, patient=call.patient, link=link, booked=booked)
            return ("cards", wire.dumps({"cards": cards}), made_of(plan))
        except Refused as refused:
            return ("refused", refused.status, refused.message)

    return work


def _without(key: str, why: str | None, fetched: dict[str, Any] | None) -> str:
    """The record note for an optional prefetch the plan was made without (only `dxaPanels` is)."""
    if fetched is not None and key in fetched:
        how = "neither sent nor read from the FHIR server"
    else:
        how = f"sent in part ({why})" if why else "not sent"
    return (
        f"DXA panels (Observations whose components hold the T-scores): {how}, so not read; a T-score given "
        "only in a panel is not counted: check the DXA report"
    )


def _unmet(prefetched: dict[str, Any], key: str, part: dict[str, str]) -> str | None:
    """Why a prefetch cannot be planned from: "" when left out or an OperationOutcome is in its place
    (CDS Hooks 2.0: a query the EHR could not run), else what leaves its search part-done (`part`, found
    by `as_bundle`: a page of it, fewer matches than it found, an outcome reporting an error); None when
    it can."""
    value = prefetched.get(key, _unmet)
    if value is _unmet:
        return ""
    if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome":
        return ""
    return part.get(key)


def _frozen() -> None:
    """Once loaded, the knowledge and the code map (hundreds of thousands of objects) never change: moved
    out of the collector's sight, so its full passes stay short while requests come in. A call makes
    tens of thousands of short-lived objects: the youngest generation is collected every 10,000
    allocations rather than 700 (a tenth of the collector's time; cycles are still collected).
    Workers forked after this share those pages: the collector never writes to them."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])


def _plan(
    bundle: dict[str, Any], patient: str, knowledge: Knowledge, session: dt.date | None, notes: tuple[str, ...] = ()
) -> Plan:
    ids = [
        e["resource"].get("id")
        for e in bundle["entry"]
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Patient"
    ]
    if ids and patient not in ids:
        raise Refused(422, "the prefetched Patient is not the patient of context.patientId")
    # The record is judged today, so an appointment on a day before is planned as today's session, and
    # said: its day as the EHR wrote it may be a day behind this server's, in another time zone.
    today = dt.date.today()
    later = session if session is not None and session > today else None
    if session is not None and session < today:
        notes = (f"The appointment's day, {session}, is before today's, {today}: planned as a session today", *notes)
    try:
        plan = api.evaluate(
            bundle=bundle,
            knowledge=knowledge,
            patient=patient if ids else None,
            record_name="the EHR's record",
            session=later,
        )
    except OsteocheckError as exc:
        raise Refused(
            422, "; ".join(one_line(str(m)) for m in getattr(exc, "messages", ())) or "the record cannot be read"
        ) from None
    if notes and plan.record is not None:
        plan = plan._replace(record=plan.record._replace(notes=plan.record.notes + notes))
    return plan


# A client's plan, opened in a browser by its link: kept by no cache, never read as anything but text, and
# its address (whose token is the only key to it) sent on to no other site.
_PRIVATE_PAGE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
    "Referrer-Policy": "no-referrer",
}


def _error(status: int, message: str) -> tuple[int, bytes]:
    """A refusal's status and JSON, naming no client data."""
    return status, wire.dumps({"error": message, "status": status})


async def _not_found(request: Request, exc: Exception) -> Response:
    return error(404, "not found; GET /cds-services lists the services")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return error(405, "method not allowed")


async def _failed(request: Request, exc: Exception) -> Response:
    log.error("internal error: %s", type(exc).__name__)  # the type only: the message may hold the record
    return error(500, "internal error")
