"""The code map: which coded concepts (SNOMED CT, ICD-10, RxNorm, ATC, LOINC) become which profile facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from osteocheck import shipped
from osteocheck.client.records.fields import codings
from osteocheck.engine.model import Knowledge
from osteocheck.errors import KnowledgeError, ProfileError

_SECTIONS = ("conditions", "medications", "observations", "body_sites")


class CodeMap(NamedTuple):
    systems: dict[str, str]
    fresh_fracture_days: int
    recent_surgery_days: int
    sections: dict[str, list[dict[str, Any]]]

    def with_facts(self, knowledge: Knowledge) -> CodeMap:
        """The map with the codes each declared fact names, so a layered file's fact is read from records too."""
        extra: dict[str, list[dict[str, Any]]] = {k: list(v) for k, v in self.sections.items()}
        for fact in knowledge.facts:
            for c in fact.codes:
                if c.system in self.systems:
                    entry = {"system": c.system, "code": c.code, "display": c.display, "fact": fact.id}
                    extra[c.section].append({**entry, "prefix": c.prefix})
        return self._replace(sections=extra)

    def match(self, section: str, concept: object) -> dict[str, Any] | None:
        """The first entry of `section` that any coding of the CodeableConcept matches."""
        for coding in codings(concept):
            system, code = coding.get("system"), coding.get("code")
            if not isinstance(code, str):
                continue
            for entry in self.sections[section]:
                if self.systems[entry["system"]] != system:
                    continue
                if code == entry["code"] or (entry.get("prefix") and code.startswith(entry["code"])):
                    return entry
        return None


def load_code_map(path: Path | None = None) -> CodeMap:
    from osteocheck.parsing import strict_yaml  # noqa: PLC0415

    path = path or shipped.code_map_path()
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
