"""Derive a client profile from a FHIR R4 Bundle (JSON), by the code map in `data/fhir_codes.yaml`.

Plain JSON parsing, no FHIR model library: only a handful of fields are read,
and a model library would cost more start-up than the whole tool. Every
resource is accounted for: used (and for what), set aside (inactive, old,
refuted) or not recognised, so the therapist sees what the record held that
osteocheck did not use. When in doubt it is more restrictive: a condition with
no clinical status counts as active, and any fracture sets fracture history.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from osteocheck.client.records import resources
from osteocheck.client.records.bundle import read_bundle
from osteocheck.client.records.codes import CodeMap, load_code_map
from osteocheck.client.records.fields import date, describe
from osteocheck.client.records.findings import Findings, Imported
from osteocheck.client.records.references import References
from osteocheck.engine.model import Knowledge

__all__ = ["CodeMap", "Imported", "derive", "load_code_map", "read_bundle"]


def derive(bundle: dict[str, Any], codes: CodeMap, knowledge: Knowledge, today: dt.date | None = None) -> Imported:
    """The profile the bundle supports, and an account of every resource in it.

    Dates are judged against `today`, else the Bundle's own timestamp (when it was exported), else today.
    """
    when = today or date(bundle.get("timestamp")) or dt.date.today()
    found = Findings(codes.with_facts(knowledge), knowledge, when)
    listed = bundle.get("entry", [])
    references = References(listed)
    entries = [e.get("resource") for e in listed if isinstance(e, dict)]
    for r in entries:
        if not isinstance(r, dict) or not isinstance(r.get("resourceType"), str):
            found.unrecognised.append("an entry without a resource")
            continue
        kind = r["resourceType"]
        if kind == "Condition":
            resources.condition(found, r)
        elif kind in ("MedicationStatement", "MedicationRequest"):
            resources.medication(found, r, references)
        elif kind == "Procedure":
            resources.procedure(found, r)
        elif kind == "Observation":
            resources.observation(found, r)
        elif kind == "Patient":
            resources.patient(found, r)
        elif kind == "Medication":
            continue  # read through the statements that refer to it
        else:
            found.unrecognised.append(describe(r, r.get("code")))
    return found.imported()
