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
import json
from pathlib import Path
from typing import Any, NamedTuple

from osteocheck import shipped
from osteocheck.engine.model import Knowledge
from osteocheck.engine.stage import classify
from osteocheck.errors import KnowledgeError, ProfileError
from osteocheck.vocabulary import STAGES

MAX_BYTES = 16 * 1024 * 1024
_ACTIVE_CONDITION = {"active", "recurrence", "relapse"}
_REFUTED = {"refuted", "entered-in-error"}
_ACTIVE_MEDICATION = {"active", "intended", "on-hold"}
_DONE_PROCEDURE = {"completed", "in-progress"}
_SECTIONS = ("conditions", "medications", "observations", "body_sites")
_FINAL_OBSERVATION = {"final", "amended", "corrected", "preliminary"}


class CodeMap(NamedTuple):
    systems: dict[str, str]
    fresh_fracture_days: int
    recent_surgery_days: int
    sections: dict[str, list[dict[str, Any]]]

    def match(self, section: str, concept: object) -> dict[str, Any] | None:
        """The first entry of `section` that any coding of the CodeableConcept matches."""
        for coding in _codings(concept):
            system, code = coding.get("system"), coding.get("code")
            if not isinstance(code, str):
                continue
            for entry in self.sections[section]:
                if self.systems[entry["system"]] != system:
                    continue
                if code == entry["code"] or (entry.get("prefix") and code.startswith(entry["code"])):
                    return entry
        return None


class Imported(NamedTuple):
    data: dict[str, object]
    used: tuple[str, ...]
    set_aside: tuple[str, ...]
    unrecognised: tuple[str, ...]
    notes: tuple[str, ...]


def code_map_path() -> Path:
    return shipped.code_map_path()


def load_code_map(path: Path | None = None) -> CodeMap:
    from osteocheck.parsing import strict_yaml  # noqa: PLC0415

    path = path or code_map_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError((f"{path}: cannot read the FHIR code map: {exc.strerror}",), usage=False) from None
    try:
        data = strict_yaml.load(raw, str(path)).data
    except KnowledgeError as exc:
        raise ProfileError(tuple(str(p) for p in exc.problems), usage=False) from None
    if not isinstance(data, dict):
        raise ProfileError((f"{path}: the FHIR code map must be a mapping",), usage=False)
    allowed = {
        "systems",
        "fresh_fracture_days",
        "recent_surgery_days",
        "conditions",
        "medications",
        "observations",
        "body_sites",
    }
    unknown = sorted(set(data) - allowed)
    if unknown or not isinstance(data.get("systems"), dict):
        what = f"unknown key(s) {', '.join(unknown)}" if unknown else "no 'systems' mapping"
        raise ProfileError((f"{path}: not a FHIR code map: {what}",), usage=False)
    systems = data["systems"]
    sections = {k: data.get(k, []) for k in _SECTIONS}
    for name, entries in sections.items():
        for i, entry in enumerate(entries):
            if (
                not isinstance(entry, dict)
                or entry.get("system") not in systems
                or not isinstance(entry.get("code"), str)
            ):
                raise ProfileError((f"{path}: {name}[{i}] needs a known 'system' and a 'code'",), usage=False)
    return CodeMap(
        systems, int(data.get("fresh_fracture_days", 90)), int(data.get("recent_surgery_days", 90)), sections
    )


def _codings(concept: object) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    codings = concept.get("coding", [])
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def _status(concept: object) -> str | None:
    for coding in _codings(concept):
        if isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def _text(value: object) -> str | None:
    """A field that should be a code string; anything else (a list, an object) counts as absent."""
    return value if isinstance(value, str) else None


def _label(resource: dict[str, Any], concept: object = None) -> str:
    kind = resource.get("resourceType", "?")
    ident = resource.get("id")
    name = ""
    if isinstance(concept, dict):
        name = concept.get("text") or next((c.get("display") for c in _codings(concept) if c.get("display")), "") or ""
        if not name:
            name = next((f"{c.get('system')}|{c.get('code')}" for c in _codings(concept)), "")
    return f"{kind}/{ident}" + (f" ({name})" if name else "")


def _date(value: object) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def read_bundle(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ProfileError((f"{path}: cannot read FHIR bundle: {exc.strerror}",), usage=False) from None
    if len(raw) > MAX_BYTES:
        raise ProfileError((f"{path}: FHIR bundle is larger than {MAX_BYTES:,} bytes",), usage=False)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ProfileError((f"{path}: not UTF-8 text, so not a FHIR JSON bundle",), usage=False) from None
    except json.JSONDecodeError as exc:
        raise ProfileError((f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",), usage=False) from None
    except RecursionError:
        raise ProfileError((f"{path}: JSON nested too deeply",), usage=False) from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise ProfileError((f"{path}: not a FHIR Bundle (resourceType is {found!r}, expected 'Bundle')",), usage=False)
    if not isinstance(data.get("entry", []), list):
        raise ProfileError((f"{path}: Bundle.entry must be a list",), usage=False)
    return data


class _Deriver:
    def __init__(self, codes: CodeMap, knowledge: Knowledge, today: dt.date) -> None:
        self.codes = codes
        self.knowledge = knowledge
        self.sites = knowledge.site_ids
        self.today = today
        self.data: dict[str, Any] = {}
        self.used: list[str] = []
        self.set_aside: list[str] = []
        self.unrecognised: list[str] = []
        self.notes: list[str] = []
        self.stages: list[tuple[str, str]] = []
        self.t_scores: list[tuple[float, str]] = []

    def add_site(self, fact: str, site: str) -> None:
        listed = self.data.setdefault(fact, [])
        if site not in listed:
            listed.append(site)

    def site_of(self, resource: dict[str, Any], entry: dict[str, Any]) -> list[str]:
        found = [entry["site"]] if entry.get("site") in self.sites else []
        body = resource.get("bodySite", [])
        for concept in body if isinstance(body, list) else []:
            hit = self.codes.match("body_sites", concept)
            if hit and hit.get("site") in self.sites:
                found.append(hit["site"])
            elif isinstance(concept, dict) and str(concept.get("text", "")).strip().lower() in self.sites:
                found.append(str(concept["text"]).strip().lower())
            else:
                self.notes.append(
                    f"{_label(resource)}: body site not recognised: {_label({'resourceType': 'bodySite'}, concept)}"
                )
        return list(dict.fromkeys(found))

    def condition(self, r: dict[str, Any]) -> None:
        label = _label(r, r.get("code"))
        entry = self.codes.match("conditions", r.get("code"))
        if entry is None:
            self.unrecognised.append(label)
            return
        if _status(r.get("verificationStatus")) in _REFUTED:
            self.set_aside.append(f"{label}: verification status {_status(r.get('verificationStatus'))}")
            return
        status = _status(r.get("clinicalStatus"))
        active = status is None or status in _ACTIVE_CONDITION
        if status is None:
            self.notes.append(f"{label}: no clinical status; counted as active")
        kind = entry.get("kind")
        if "stage" in entry:
            self.stages.append((entry["stage"], label))
            self.used.append(f"{label}: stage {entry['stage']}")
        if kind == "fracture":
            self.fracture(r, entry, label, active=active)
        elif kind in ("wound", "infection"):
            fact = "open_wounds" if kind == "wound" else "active_infections"
            if not active:
                self.set_aside.append(f"{label}: {status}")
                return
            sites = self.site_of(r, entry)
            for site in sites:
                self.add_site(fact, site)
            self.used.append(f"{label}: {fact} {', '.join(sites)}" if sites else f"{label}: no body site")
            if not sites:
                self.notes.append(f"{label}: active but without a recognised body site; ask the client where")
        elif "fact" in entry:
            if active:
                self.data[entry["fact"]] = True
                self.used.append(f"{label}: {entry['fact']}")
            else:
                self.set_aside.append(f"{label}: {status}")

    def fracture(self, r: dict[str, Any], entry: dict[str, Any], label: str, *, active: bool) -> None:
        self.data["fracture_history"] = True
        when = _date(r.get("onsetDateTime")) or _date(r.get("recordedDate"))
        recent = when is not None and (self.today - when).days <= self.codes.fresh_fracture_days
        if active and (recent or when is None):
            sites = self.site_of(r, entry)
            for site in sites:
                self.add_site("fresh_fractures", site)
            if when is None:
                self.notes.append(f"{label}: active fracture with no date; counted as not healed")
            if sites:
                self.used.append(f"{label}: fresh fracture at {', '.join(sites)}; fracture history")
            else:
                self.used.append(f"{label}: fracture history")
                self.notes.append(f"{label}: fresh fracture without a recognised body site; ask the client where")
        else:
            self.used.append(f"{label}: fracture history")

    def medication(self, r: dict[str, Any], resources: dict[str, dict[str, Any]]) -> None:
        concept = r.get("medicationCodeableConcept")
        reference = r.get("medicationReference")
        if concept is None and isinstance(reference, dict):
            target = resources.get(str(reference.get("reference", "")).lstrip("#"))
            concept = target.get("code") if target else None
        label = _label(r, concept)
        entry = self.codes.match("medications", concept)
        if entry is None:
            self.unrecognised.append(label)
            return
        status = _text(r.get("status"))
        if status not in _ACTIVE_MEDICATION:
            self.set_aside.append(f"{label}: status {status}")
            return
        self.data[entry["fact"]] = True
        self.used.append(f"{label}: {entry['fact']}")

    def procedure(self, r: dict[str, Any]) -> None:
        label = _label(r, r.get("code"))
        if _text(r.get("status")) not in _DONE_PROCEDURE:
            self.set_aside.append(f"{label}: status {r.get('status')}")
            return
        period = r.get("performedPeriod")
        when = _date(r.get("performedDateTime")) or (
            _date(period.get("end") or period.get("start")) if isinstance(period, dict) else None
        )
        if when is None or (self.today - when).days > self.codes.recent_surgery_days:
            self.set_aside.append(f"{label}: not recent" if when else f"{label}: no date")
            return
        sites = self.site_of(r, {})
        for site in sites:
            self.add_site("post_surgical", site)
        if sites:
            self.used.append(f"{label}: post-surgical site {', '.join(sites)}")
        else:
            self.unrecognised.append(f"{label}: recent, but without a recognised body site")
            self.notes.append(f"{label}: recent procedure without a recognised body site; ask the client where")

    def observation(self, r: dict[str, Any]) -> None:
        label = _label(r, r.get("code"))
        entry = self.codes.match("observations", r.get("code"))
        if entry is None:
            self.unrecognised.append(label)
            return
        quantity = r.get("valueQuantity")
        value = quantity.get("value") if isinstance(quantity, dict) else None
        if (
            _text(r.get("status")) not in _FINAL_OBSERVATION
            or isinstance(value, bool)
            or not isinstance(value, (int, float))
        ):
            self.set_aside.append(f"{label}: status {r.get('status')}, value {value!r}")
            return
        self.t_scores.append((float(value), label))

    def patient(self, r: dict[str, Any]) -> None:
        names = r.get("name")
        if isinstance(names, list) and names and isinstance(names[0], dict):
            first = names[0]
            given: list[Any] = first["given"] if isinstance(first.get("given"), list) else []
            text = first.get("text") or " ".join([*(str(g) for g in given), str(first.get("family", ""))]).strip()
            if text:
                self.data["name"] = str(text)
        if isinstance(r.get("id"), str):
            self.data["id"] = r["id"]
        self.used.append(f"Patient/{r.get('id')}: name and id")

    def finish(self) -> None:
        stage = max((s for s, _ in self.stages), key=STAGES.index, default=None)
        if self.t_scores:
            value, label = min(self.t_scores)
            self.used.append(
                f"{label}: T-score {value:g}" + (" (the lowest of several)" if len(self.t_scores) > 1 else "")
            )
            category = classify(value, self.knowledge)
            rank = {"normal": -1, "osteopenia": 0, "osteoporosis": 1}[category]
            if stage is not None and STAGES.index(stage) > rank:
                self.notes.append(
                    f"T-score {value:g} ({category} range) left out: the record's diagnosis, {stage}, is more severe"
                )
            else:
                self.data["t_score"] = value
                if stage is not None and STAGES.index(stage) < rank:
                    stage = None  # the T-score is the more severe evidence; the stage follows from it
        if stage is not None:
            self.data["stage"] = stage
        for fact in ("fresh_fractures", "open_wounds", "active_infections", "post_surgical"):
            listed = self.data.get(fact)
            if isinstance(listed, list):
                self.data[fact] = [s for s in self.sites if s in listed]


def derive(bundle: dict[str, Any], codes: CodeMap, knowledge: Knowledge, today: dt.date | None = None) -> Imported:
    """The profile the bundle supports, and an account of every resource in it.

    Dates are judged against `today`, else the Bundle's own timestamp (when it was exported), else today.
    """
    when = today or _date(bundle.get("timestamp")) or dt.date.today()
    deriver = _Deriver(codes, knowledge, when)
    resources: dict[str, dict[str, Any]] = {}
    entries = [e.get("resource") for e in bundle.get("entry", []) if isinstance(e, dict)]
    for r in entries:
        if isinstance(r, dict) and isinstance(r.get("resourceType"), str):
            resources[f"{r['resourceType']}/{r.get('id')}"] = r
            for contained in r.get("contained", []) if isinstance(r.get("contained"), list) else []:
                if isinstance(contained, dict):
                    resources[str(contained.get("id"))] = contained
    for r in entries:
        if not isinstance(r, dict) or not isinstance(r.get("resourceType"), str):
            deriver.unrecognised.append("an entry without a resource")
            continue
        kind = r["resourceType"]
        if kind == "Condition":
            deriver.condition(r)
        elif kind in ("MedicationStatement", "MedicationRequest"):
            deriver.medication(r, resources)
        elif kind == "Procedure":
            deriver.procedure(r)
        elif kind == "Observation":
            deriver.observation(r)
        elif kind == "Patient":
            deriver.patient(r)
        elif kind == "Medication":
            continue  # read through the statements that refer to it
        else:
            deriver.unrecognised.append(_label(r, r.get("code")))
    deriver.finish()
    return Imported(
        deriver.data,
        tuple(deriver.used),
        tuple(deriver.set_aside),
        tuple(deriver.unrecognised),
        tuple(deriver.notes),
    )
