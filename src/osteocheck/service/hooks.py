"""The services this server offers (CDS Hooks discovery) and the FHIR queries each asks the EHR to prefetch."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, NamedTuple

from osteocheck.client.records.codes import CodeMap
from osteocheck.client.records.fields import codings, latest
from osteocheck.client.records.references import patient_of
from osteocheck.client.records.resources import COUNTED, WHEN  # what the importer counts: statuses, dates

PATIENT = "{{context.patientId}}"
# Prefetches a plan is made without, and says so, when neither the EHR nor its FHIR server can give them
# whole: DXA panels, found by R4's `component-code`, a search parameter not every server runs.
OPTIONAL = frozenset({"dxaPanels"})


class Service(NamedTuple):
    id: str
    hook: str
    title: str
    description: str


SERVICES = (
    Service(
        "osteocheck-patient-view",
        "patient-view",
        "Massage therapy with osteoporosis: contraindications",
        "When a patient's record is opened: whether massage may proceed, what the physician must clear first, "
        "and which techniques, pressures, sites and positions are excluded or must be modified.",
    ),
    Service(
        "osteocheck-appointment-book",
        "appointment-book",
        "Massage therapy with osteoporosis: before booking",
        "When a massage appointment is booked: whether the session may go ahead as booked, or needs the "
        "physician's clearance or postponement first, with what must not be done where.",
    ),
)
BY_ID = {s.id: s for s in SERVICES}


def prefetch_templates(codes: CodeMap, today: dt.date) -> dict[str, str]:
    """What the importer reads, and no more, asked for by patient: every Condition (a fracture stays
    history when resolved); medications in a status it counts, the dispensed and administered ones and
    procedures within its windows, from a day earlier (the EHR's day may start before ours); the DXA
    observations by the code map's own codes, and the panels that hold them as components (`OPTIONAL`).
    A listing the EHR keeps asks, as days pass, for more than needed, never less."""
    observed = ",".join(f"{system}|{code}" for system, code in observed_codes(codes))
    taken = today - dt.timedelta(days=codes.recent_medication_days + 1)
    operated = today - dt.timedelta(days=codes.recent_surgery_days + 1)
    return {
        "patient": f"Patient/{PATIENT}",
        "conditions": f"Condition?patient={PATIENT}",
        "medicationRequests": _search("MedicationRequest"),
        "medicationStatements": _search("MedicationStatement"),
        "medicationDispenses": _search("MedicationDispense", taken),
        "medicationAdministrations": _search("MedicationAdministration", taken),
        "observations": f"Observation?patient={PATIENT}&code={observed}",
        "procedures": _search("Procedure", operated),
        "dxaPanels": f"Observation?patient={PATIENT}&component-code={observed}",
    }


def _search(kind: str, since: dt.date | None = None) -> str:
    """The kind's search for the patient, in the statuses counted and since `since`; a medication's
    with the Medication it names (`_include`: a drug given by reference is known by its code there)."""
    after = f"&{WHEN[kind][0]}=ge{since.isoformat()}" if since is not None else ""
    drug = f"&_include={kind}:medication" if kind.startswith("Medication") else ""
    return f"{kind}?patient={PATIENT}{after}&status={','.join(COUNTED[kind])}{drug}"


def observed_codes(codes: CodeMap) -> list[tuple[str, str]]:
    """(system, code) of every Observation the code map reads (the DXA T-scores), from its index: under
    the system's URI, then under each OID the map knows it by (an EHR keeps a code as it was sent)."""
    found = [(system, code) for system, table in codes.lookup["observations"][0].items() for code in table]
    aliases = codes.aliases or {}
    return found + [(oid, code) for system, code in found for oid, uri in aliases.items() if uri == system]


def discovery(templates: dict[str, str]) -> dict[str, Any]:
    return {
        "services": [
            {"hook": s.hook, "id": s.id, "title": s.title, "description": s.description, "prefetch": templates}
            for s in SERVICES
        ]
    }


def request_for(
    bundle: dict[str, Any],
    hook: str,
    codes: CodeMap,
    *,
    instance: str = "example",
    today: dt.date | None = None,
    booked: dt.date | None = None,
) -> dict[str, Any]:
    """The request an EHR would send for the bundle's (one) patient, its prefetch answered from the bundle.

    For examples, tests and benchmarks: each template's search answered as a searchset Bundle, with
    what its query asks for (`found_by`); for appointment-book, the proposed Appointment on `booked`.
    """
    entries = [e for e in bundle.get("entry", []) if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    # A server stores a transaction's urn:uuid references as Type/id, and answers searches with those.
    local = {
        e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource'].get('id')}" for e in entries if "fullUrl" in e
    }
    found = [_relinked(e["resource"], local) for e in entries]
    patient = next(r for r in found if r.get("resourceType") == "Patient")
    prefetch: dict[str, Any] = {"patient": patient}
    for key, template in prefetch_templates(codes, today or dt.date.today()).items():
        if key == "patient":
            continue
        hits = found_by(template, found)
        prefetch[key] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": sum(r.get("resourceType") == template.partition("?")[0] for r in hits),  # R4: not includes
            "entry": [{"resource": r} for r in hits],
        }
    context: dict[str, Any] = {"userId": "Practitioner/example", "patientId": patient["id"]}
    if hook == "appointment-book":
        proposed = [
            {"resourceType": "Appointment", "id": "proposed", "status": "proposed",
             "start": f"{booked.isoformat()}T10:00:00Z", "end": f"{booked.isoformat()}T11:00:00Z",
             "participant": [{"actor": {"reference": f"Patient/{patient['id']}"}, "status": "accepted"}]}
        ] if booked is not None else []  # fmt: skip
        context["appointments"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in proposed],
        }
    return {"hook": hook, "hookInstance": instance, "context": context, "prefetch": prefetch}


def found_by(query: str, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources a FHIR server would return for one of this service's searches (`Type?param=...`),
    as far as the search says (the patient is the caller's to choose): a code among `code`'s
    `system|code` list, a component's among `component-code`'s, a status among `status`'s, a `ge`
    date met by the kind's time (`WHEN`; an ongoing period meets it), then the Medications the hits
    name (`_include`). For examples, tests and the tests' FHIR stub; any other parameter is an error."""
    kind, _, query = query.partition("?")
    params = dict(param.partition("=")[::2] for param in query.split("&"))
    dated = WHEN.get(kind, ("",))[0]
    unknown = set(params) - {"patient", "code", "component-code", "status", "_include", dated}
    if params.get("_include", f"{kind}:medication") != f"{kind}:medication":
        unknown.add("_include")
    if unknown or not params.get(dated, "ge").startswith("ge"):
        raise ValueError(f"a search this service does not make: {kind}?{query}")
    codes, parts = (
        {tuple(c.split("|", 1)) for c in params[name].split(",")} if name in params else None
        for name in ("code", "component-code")
    )
    statuses = set(params["status"].split(",")) if "status" in params else None
    since = params[dated][2:] if dated in params else None

    def hit(r: dict[str, Any]) -> bool:
        return (
            r.get("resourceType") == kind
            and (codes is None or any((c.get("system"), c.get("code")) in codes for c in codings(r.get("code"))))
            and (parts is None or any((c.get("system"), c.get("code")) in parts for c in _component_codings(r)))
            and (statuses is None or r.get("status") in statuses)
            and (since is None or last_day(r) >= since)
        )

    hits = [r for r in resources if hit(r)]
    if "_include" in params:
        named = {_reference(r.get("medicationReference")) for r in hits}
        hits += [r for r in resources if f"{r.get('resourceType')}/{r.get('id')}" in named]
    return hits


def _component_codings(r: dict[str, Any]) -> list[dict[str, Any]]:
    listed = r.get("component")
    return (
        [c for part in listed if isinstance(part, dict) for c in codings(part.get("code"))]
        if isinstance(listed, list)
        else []
    )


def _reference(value: object) -> str | None:
    return value.get("reference") if isinstance(value, dict) else None


def last_day(r: dict[str, Any]) -> str:
    """The last day a dated resource happened (ISO, compared as text); "9" (after every date) when its
    period is ongoing, "" when it has no date."""
    _, when, during = WHEN.get(str(r.get("resourceType")), ("", "", ""))
    period = r.get(during) if during else None
    if isinstance(period, dict):
        end = period.get("end")
        return _last(end) if isinstance(end, str) else "9"
    value = r.get(when) if when else None
    return _last(value) if isinstance(value, str) else ""


def _last(value: str) -> str:
    """A FHIR search's `ge` meets a partial date ("2026-05") when any day of it does: its last day."""
    day = latest(value)
    return day.isoformat() if day is not None else value[:10]


def _relinked(value: Any, local: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: local.get(v, v) if k == "reference" and isinstance(v, str) else _relinked(v, local)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_relinked(v, local) for v in value]
    return value


def bulk_records(folder: Path) -> list[dict[str, Any]]:
    """One Bundle per Patient of a small FHIR Bulk Data export (`Type.NNN.ndjson`): examples, tests, benchmarks.

    Read whole into memory; `osteocheck batch --fhir-ndjson` is the way to screen a large export.
    """
    by_patient: dict[str, list[dict[str, Any]]] = {}
    patients: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("resourceType") == "Patient":
                patients.append(r)
                continue
            owner = patient_of(r)
            if owner is not None:
                by_patient.setdefault(owner, []).append(r)
    return [
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in [p, *by_patient.get(p["id"], [])]],
        }
        for p in patients
    ]
