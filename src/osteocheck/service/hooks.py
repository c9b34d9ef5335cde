"""The services this server offers (CDS Hooks discovery) and the FHIR queries each asks the EHR to prefetch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from osteocheck.client.records.codes import CodeMap
from osteocheck.client.records.references import patient_of

PATIENT = "{{context.patientId}}"


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


def prefetch_templates(codes: CodeMap) -> dict[str, str]:
    """What the importer reads, asked for by patient; the DXA observations by the code map's own codes."""
    observed = ",".join(f"{system}|{code}" for system, code in observed_codes(codes))
    return {
        "patient": f"Patient/{PATIENT}",
        "conditions": f"Condition?patient={PATIENT}",
        "medicationRequests": f"MedicationRequest?patient={PATIENT}",
        "medicationStatements": f"MedicationStatement?patient={PATIENT}",
        "observations": f"Observation?patient={PATIENT}&code={observed}",
        "procedures": f"Procedure?patient={PATIENT}",
    }


def observed_codes(codes: CodeMap) -> list[tuple[str, str]]:
    """(system URI, code) of every Observation the code map reads (the DXA T-scores), from its index."""
    return [(system, code) for system, table in codes.lookup["observations"][0].items() for code in table]


def discovery(codes: CodeMap) -> dict[str, Any]:
    templates = prefetch_templates(codes)
    return {
        "services": [
            {"hook": s.hook, "id": s.id, "title": s.title, "description": s.description, "prefetch": templates}
            for s in SERVICES
        ]
    }


_SEARCHED = {
    "conditions": "Condition",
    "medicationRequests": "MedicationRequest",
    "medicationStatements": "MedicationStatement",
    "observations": "Observation",
    "procedures": "Procedure",
}


def request_for(bundle: dict[str, Any], hook: str, codes: CodeMap, *, instance: str = "example") -> dict[str, Any]:
    """The request an EHR would send for the bundle's (one) patient, its prefetch answered from the bundle.

    For examples, tests and benchmarks: each template's search as a searchset Bundle, the observations
    only those with a code the template asks for.
    """
    entries = [e for e in bundle.get("entry", []) if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    # A server stores a transaction's urn:uuid references as Type/id, and answers searches with those.
    local = {
        e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource'].get('id')}" for e in entries if "fullUrl" in e
    }
    found = [_relinked(e["resource"], local) for e in entries]
    patient = next(r for r in found if r.get("resourceType") == "Patient")
    wanted = set(observed_codes(codes))

    def asked(r: dict[str, Any]) -> bool:
        if r["resourceType"] != "Observation":
            return True
        coded = r.get("code", {}).get("coding", []) if isinstance(r.get("code"), dict) else []
        return any((c.get("system"), c.get("code")) in wanted for c in coded if isinstance(c, dict))

    prefetch: dict[str, Any] = {"patient": patient}
    for key, kind in _SEARCHED.items():
        hits = [r for r in found if r.get("resourceType") == kind and asked(r)]
        prefetch[key] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(hits),
            "entry": [{"resource": r} for r in hits],
        }
    context: dict[str, Any] = {"userId": "Practitioner/example", "patientId": patient["id"]}
    if hook == "appointment-book":
        context["appointments"] = {"resourceType": "Bundle", "type": "collection", "entry": []}
    return {"hook": hook, "hookInstance": instance, "context": context, "prefetch": prefetch}


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
