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

from osteocheck.client.records import modifiers, observations, resources
from osteocheck.client.records.bundle import ASK_WHOLE, checked, read_bundle, withheld
from osteocheck.client.records.codes import CodeMap, load_code_map
from osteocheck.client.records.fields import date, describe
from osteocheck.client.records.findings import Findings, Imported
from osteocheck.client.records.references import References
from osteocheck.engine.model import Knowledge
from osteocheck.errors import ProfileError
from osteocheck.words import one_line, with_article

__all__ = ["CodeMap", "Findings", "Imported", "References", "derive", "load_code_map", "read_bundle", "read_resource"]


def derive(
    bundle: dict[str, Any],
    codes: CodeMap,
    knowledge: Knowledge,
    today: dt.date | None = None,
    *,
    patient: str | None = None,
    session: dt.date | None = None,
    choose: tuple[str, str] = ("--patient", "--patient ID"),
) -> Imported:
    """The profile the bundle supports, and an account of every resource in it.

    Dates are judged at `today` (given), else the Bundle's own timestamp (when it was exported), else
    today; the plan says which. A `session` later than that (an appointment being booked) is the day a
    DXA T-score must still be current on: whatever is recent is judged at the earlier day, and whatever
    must be current at the later, the stricter reading each. A `session` before it is refused. One
    patient per plan: a bundle of several needs `patient`, named in errors as `choose` has it (the
    flag and its use, or the API's).
    """
    listed = bundle.get("entry", [])
    references, patients, held = _survey(listed)
    if held:  # Bundles in the bundle: their entries are read as its own
        listed = _entries(bundle)
        references, patients, _ = _survey(listed)
    when, basis = _judged_at(today, date(bundle.get("timestamp")))
    if session is not None and session < when:
        # Judged at the later day, a fracture still fresh on the session's day could read as healed.
        why = f"the session's day, {session}, is before the day to judge the record at, {when} ({basis}): "
        raise ProfileError((why + "judge it at the session's day, or before it",), usage=True)
    found = Findings(codes.with_facts(knowledge), knowledge, when)
    found.as_of = f"{when.isoformat()} ({basis})"
    if session is not None and session > when:
        found.current_on = session
        found.as_of += f"; a DXA T-score must still be current on the session's day, {session.isoformat()}"
    if "implicitRules" in bundle:  # a Bundle is a Resource: rules it was written under apply to all it holds
        modifiers.modified(found, bundle)
    chosen = _the_patient(patients, patient, choose)
    if chosen is not None and chosen[0] != "(no id)":
        found.patient = f"Patient/{chosen[0]}"
    known: dict[str, bool] = {}
    for entry in listed:
        r = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(r, dict) or not isinstance(r.get("resourceType"), str):
            found.unrecognised.append("an entry without a resource")
            continue
        if chosen is not None and not _belongs(r, chosen, references, known):
            found.set_aside.append(f"{describe(r)}: another patient's")
            continue
        found.changed.clear()
        read_resource(found, r, references)
        if found.changed:
            reference = _reference(r, entry)
            if reference is not None:
                for fact in _in_order(found):
                    found.cite(fact, reference)
    return found.imported()


def _entries(bundle: dict[str, Any], depth: int = 0) -> list[Any]:
    """The bundle's entries, with those of a Bundle held in it read as its own (a collection of saved
    search results): counted as one resource not recognised, their fractures and drugs went unread.
    A held Bundle that is one page of a search, or a failed one, is refused as the outer one is."""
    listed = bundle.get("entry", [])
    out: list[Any] = []
    for entry in listed:
        held = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(held, dict) and held.get("resourceType") == "Bundle":
            where = f"a Bundle held in the record ({describe(held)})"
            if depth == 3:
                raise ProfileError(
                    (f"{where}: Bundles are held more than 3 deep; put their entries in one",), usage=False
                )
            out.extend(_entries(checked(held, where), depth + 1))
        else:
            out.append(entry)
    return out


def _judged_at(given: dt.date | None, stamped: dt.date | None) -> tuple[dt.date, str]:
    """The day to judge the record at, and why. A timestamp after today (a wrong clock) would make every
    fracture and dispense look older than it is: today is taken instead, the more restrictive day."""
    now = dt.date.today()
    if given:
        return given, "given"
    if stamped is None:
        return now, "today: the record has no timestamp"
    if stamped > now:
        return now, f"today: the bundle's timestamp, {stamped.isoformat()}, is later than today"
    return stamped, "the bundle's timestamp"


def _in_order(found: Findings) -> list[str]:
    """The facts the last resource changed, in the findings' order (stage and T-score, settled at the end, last)."""
    changed = found.changed
    return [fact for fact in (*found.data, "stage", "t_score") if fact in changed]


def _reference(r: dict[str, Any], entry: dict[str, Any]) -> str | None:
    """How to point at a resource: its type and id, else the entry's fullUrl."""
    if isinstance(r.get("id"), str) and r["id"]:
        return f"{r['resourceType']}/{r['id']}"
    full = entry.get("fullUrl")
    return full if isinstance(full, str) and full else None


def read_resource(found: Findings, r: dict[str, Any], references: References) -> None:
    """What one resource adds to the findings, by its type."""
    kind = r["resourceType"]
    if kind == "Condition":
        resources.condition(found, r)
    elif kind in ("MedicationStatement", "MedicationRequest", "MedicationDispense", "MedicationAdministration"):
        resources.medication(found, r, references)
    elif kind == "Procedure":
        resources.procedure(found, r)
    elif kind == "Observation":
        observations.observation(found, r)
    elif kind == "Patient":
        resources.patient(found, r)
    elif kind == "Medication":  # read through the statements that refer to it, its modifiers too
        return
    else:
        found.unrecognised.append(describe(r, r.get("code")))
    if "modifierExtension" in r or "implicitRules" in r:
        modifiers.modified(found, r)


# Resource types and field shapes of another FHIR version: read as R4 they would be misread, silently.
_PRE_R4_TYPES = {"MedicationOrder", "DiagnosticOrder", "Order", "OrderResponse", "DeviceUseRequest", "ProcedureRequest",
                 "ReferralRequest", "ProcessRequest", "ProcessResponse", "DataElement", "EligibilityRequest"}  # fmt: skip
_PLAIN_STATUS = frozenset({"Condition", "AllergyIntolerance"})  # DSTU2, STU3: clinicalStatus a code, not a concept
# Elements R4 does not have, by the version that does: STU3 said a drug was not taken (`taken`: "n") or an
# operation not done (`notDone`) beside an active status; R5 names a drug `medication` (a CodeableReference;
# R4: medication[x]) and a procedure's time occurrence[x] (R4: performed[x]). Read as R4, the blood
# thinner or the operation would be misread or go unread.
_OTHER_ELEMENTS: dict[str, dict[str, str]] = {
    **{kind: {"medication": "R5"} for kind in ("MedicationRequest", "MedicationDispense", "MedicationAdministration")},
    "MedicationStatement": {"medication": "R5", "taken": "STU3"},
    "Procedure": {**{f"occurrence{t}": "R5" for t in ("DateTime", "Period", "String", "Age", "Range", "Timing")},
                  "notDone": "STU3"},
}  # fmt: skip
_NONE: dict[str, str] = {}


def not_r4(kind: str, r: dict[str, Any]) -> str | None:
    """Why a resource is of another FHIR version than R4, else None. (`_survey` asks the same of every
    resource inline, from the same tables: a call for each would cost a record read in the service.)"""
    if kind in _PRE_R4_TYPES:
        return f"it holds {kind}, as in FHIR DSTU2 or STU3"
    if kind in _PLAIN_STATUS and isinstance(r.get("clinicalStatus"), str):
        return f"{kind}.clinicalStatus is a plain code, as in FHIR DSTU2 or STU3"
    for name, version in _OTHER_ELEMENTS.get(kind, _NONE).items():
        if name in r:
            return f"{kind}.{name} is an element of FHIR {version}"
    return None


def _survey(listed: list[Any]) -> tuple[References, list[tuple[str, str]], bool]:
    """The bundle's references and its patients ((id, fullUrl) each), and whether it holds a Bundle, in
    one pass that first refuses a record of another FHIR version: read as R4 it would be misread, silently."""
    references = References([])
    patients: list[tuple[str, str]] = []
    held = False
    for entry in listed:
        r = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(r, dict) or not isinstance(kind := r.get("resourceType"), str):
            continue  # derive counts it: "an entry without a resource"
        if (
            kind in _PRE_R4_TYPES
            or (kind in _PLAIN_STATUS and isinstance(r.get("clinicalStatus"), str))
            or (kind in _OTHER_ELEMENTS and not _OTHER_ELEMENTS[kind].keys().isdisjoint(r))
        ):
            why = not_r4(kind, r)
            raise ProfileError((f"this is not a FHIR R4 record ({why}); osteocheck reads R4 only",), usage=False)
        meta = r.get("meta")
        if (type(meta) is dict and ("tag" in meta or "security" in meta)) or "contained" in r:  # cheap tests first
            said = withheld(kind, r)
            if said is not None:
                why = f"the record holds {with_article(one_line(kind)[:40])} {said}, so not the whole record"
                raise ProfileError((f"{why}; {ASK_WHOLE}",), usage=False)
        references.add(entry, r)
        if kind == "Patient":
            patients.append((str(r.get("id") or "(no id)"), str(entry.get("fullUrl") or "")))
        elif kind == "Bundle":
            held = True
    return references, patients, held


def _the_patient(
    patients: list[tuple[str, str]], wanted: str | None, choose: tuple[str, str]
) -> tuple[str, str] | None:
    """(id, fullUrl) of the one patient the plan is for; several without a choice is an error."""
    if wanted is not None:
        for found in patients:
            if found[0] == wanted:
                return found
        ids = ", ".join(p[0] for p in patients) or "none"
        raise ProfileError(
            (f"{choose[0]} {one_line(wanted)[:80]}: no such Patient in the record (it holds: {ids})",), usage=True
        )
    if len(patients) > 1:
        shown = ", ".join(p[0] for p in patients[:10]) + (" ..." if len(patients) > 10 else "")
        raise ProfileError(
            (f"the record holds {len(patients)} patients ({shown}); choose one with {choose[1]}",), usage=False
        )
    return patients[0] if patients else None


def _belongs(r: dict[str, Any], chosen: tuple[str, str], references: References, known: dict[str, bool]) -> bool:
    """A resource is the chosen patient's unless it names another patient as its subject.

    `known`: answers for references already seen in this record (all but `#contained` ones depend on
    the reference alone; a record's resources nearly all name the same patient the same way).
    """
    if r.get("resourceType") == "Patient":
        return str(r.get("id") or "(no id)") == chosen[0]  # as _survey names it
    for key in ("subject", "patient"):
        ref = r.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            text = ref["reference"]
            if text.startswith("#"):  # contained: the answer depends on the resource that holds it
                return _names_chosen(r, ref, chosen, references)
            answer = known.get(text)
            if answer is None:
                answer = known[text] = _names_chosen(r, ref, chosen, references)
            return answer
    return True


def _names_chosen(r: dict[str, Any], ref: dict[str, Any], chosen: tuple[str, str], references: References) -> bool:
    target = references.resolve(r, ref)
    if target is not None and target.get("resourceType") == "Patient":
        return str(target.get("id")) == chosen[0]
    text = ref["reference"]
    return text in (chosen[1], f"Patient/{chosen[0]}") or text.endswith(f"/Patient/{chosen[0]}")
