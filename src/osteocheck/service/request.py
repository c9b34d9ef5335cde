"""A CDS Hooks request, checked: its hook, the patient, the prefetched FHIR data, and where to fetch the rest.

Everything here is the EHR's data: a problem is a `Refused` (a 4xx with a JSON error that never
quotes the record), never an exception that escapes.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, NamedTuple

from osteocheck.client.records.bundle import ASK_WHOLE, errors_of, left_out, part_of, searchset
from osteocheck.client.records.fields import latest
from osteocheck.service import wire

MAX_ENTRIES = 20_000  # resources in one request, prefetched and fetched together


class Refused(Exception):
    """A request the service will not answer: its HTTP status and a message that names no client data."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class HookRequest(NamedTuple):
    hook: str
    instance: str
    patient: str
    prefetch: dict[str, Any]  # key -> resource, Bundle or None, as sent
    fhir_server: str | None
    token: str | None
    session: dt.date | None = None  # appointment-book: the last day of the appointments being booked


def parse(body: bytes, hook: str) -> HookRequest:
    try:
        data = wire.loads(body)
    except UnicodeDecodeError:
        raise Refused(400, "the request body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise Refused(400, f"the request body is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise Refused(400, "the request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise Refused(400, "the request body must be a JSON object")
    if data.get("hook") != hook:
        sent = data.get("hook")
        named = repr(sent)[:60] if isinstance(sent, str) else "none"
        raise Refused(400, f"this service answers the '{hook}' hook; the request names {named}")
    instance = _text(data, "hookInstance")
    context = data.get("context")
    if not isinstance(context, dict):
        raise Refused(400, "'context' must be an object")
    patient = _text(context, "patientId", where="context.")
    prefetch = data.get("prefetch", {})
    if not isinstance(prefetch, dict):
        raise Refused(400, "'prefetch' must be an object")
    server = data.get("fhirServer")
    if server is not None and not isinstance(server, str):
        raise Refused(400, "'fhirServer' must be a URL")
    token = None
    auth = data.get("fhirAuthorization")
    if auth is not None:
        if not isinstance(auth, dict) or not isinstance(auth.get("access_token"), str):
            raise Refused(400, "'fhirAuthorization' must be an object with an 'access_token'")
        if str(auth.get("token_type", "Bearer")).lower() != "bearer":
            raise Refused(400, "'fhirAuthorization.token_type' must be 'Bearer'")
        # CDS Hooks 2.0: a token restricted to one patient names it. For another patient a server may answer
        # the searches with nothing at all, and the plan would be made from an empty record.
        if auth.get("patient") not in (None, patient):
            raise Refused(400, "'fhirAuthorization.patient' is not the patient of context.patientId")
        token = auth["access_token"]
    session = _booked_for(context.get("appointments")) if hook == "appointment-book" else None
    return HookRequest(hook, instance, patient, prefetch, server, token, session)


def _booked_for(appointments: object) -> dt.date | None:
    """The last day of the appointments being booked (CDS Hooks 2.0: a Bundle of Appointments), None when
    none gives one: each one's `start`, else the last end of the periods it is asked for in (R4
    `requestedPeriod`, which a proposed appointment may give instead). A DXA reading must still be current
    on it; a day that cannot be read is refused, since the plan cannot say for which day it holds."""
    if appointments is None:
        return None
    entries = appointments.get("entry", []) if isinstance(appointments, dict) else None
    if (
        not isinstance(appointments, dict)
        or appointments.get("resourceType") != "Bundle"
        or not isinstance(entries, list)
    ):
        raise Refused(400, "'context.appointments' must be a FHIR Bundle of Appointments")
    days: list[dt.date] = []
    for n, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        given = [("start", resource["start"])] if resource.get("start") is not None else _period_ends(resource)
        for field, value in given:
            day = latest(value)
            if day is None:
                raise Refused(400, f"'context.appointments' entry {n}: '{field}' is not a FHIR date")
            days.append(day)
    return max(days, default=None)


def _period_ends(appointment: dict[str, Any]) -> list[tuple[str, object]]:
    """Each requested period's end, else its start: open at its end, the earliest the session can be, which
    the plan's `as_of` names as the day it judged for."""
    periods = appointment.get("requestedPeriod")
    out: list[tuple[str, object]] = []
    for period in periods if isinstance(periods, list) else []:
        if not isinstance(period, dict):
            out.append(("requestedPeriod", period))
        elif period.get("end") is not None:
            out.append(("requestedPeriod.end", period["end"]))
        elif period.get("start") is not None:
            out.append(("requestedPeriod.start", period["start"]))
    return out


def _text(data: dict[str, Any], key: str, *, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise Refused(400, f"'{where}{key}' must be a non-empty string")
    return value


def as_bundle(prefetched: dict[str, Any], part: dict[str, str] | None = None) -> dict[str, Any]:
    """One collection Bundle of every resource prefetched (a resource, or a search Bundle's entries);
    `part` gets the keys whose search the Bundle holds only part of, and why (`bundle.incomplete`)."""
    entries: list[dict[str, Any]] = []
    rules: dict[str, Any] = {}  # a search Bundle's implicit rules, kept so the importer names them
    for key, value in prefetched.items():
        if value is None:  # the EHR found nothing for this query
            continue
        if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
            raise Refused(400, f"prefetch '{key[:40]}' is not a FHIR resource")
        if value["resourceType"] == "Bundle":
            listed = value.get("entry", [])
            if not isinstance(listed, list):
                raise Refused(400, f"prefetch '{key[:40]}': Bundle.entry must be a list")
            said = left_out("Bundle", value.get("meta"))
            if said is not None:  # withheld, the FHIR server would withhold it too: not fetched again
                raise Refused(
                    422, f"prefetch '{key[:40]}': the search Bundle is {said}, so not the whole record; {ASK_WHOLE}"
                )
            others, failed = 0, False  # entries that are not matches (R4 Bundle.total counts the matches)
            for e in listed:  # search results carry OperationOutcomes about the search itself: not the record
                search = e.get("search") if isinstance(e, dict) else None
                if isinstance(search, dict) and (mode := search.get("mode")) in ("outcome", "include"):
                    others += 1
                    if mode == "outcome":
                        failed = failed or bool(errors_of(e.get("resource")))
                        continue
                entries.append(e)  # an entry that is not an object is kept: the importer counts it
            if "implicitRules" in value:
                rules.setdefault("implicitRules", value["implicitRules"])
            why = part_of(value, len(listed) - others if searchset(value) else None, failed=failed)
            if why is not None and part is not None:
                part[key] = why
        else:
            entries.append({"resource": value})
        if len(entries) > MAX_ENTRIES:
            raise Refused(413, f"the prefetched record holds more than {MAX_ENTRIES:,} resources")
    return {"resourceType": "Bundle", "type": "collection", "entry": entries, **rules}
