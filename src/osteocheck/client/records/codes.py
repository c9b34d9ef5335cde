"""The code map: which coded concepts (SNOMED CT, ICD-10, RxNorm, ATC, LOINC) become which profile facts.

Two files: `fhir_codes.json`, generated from NLM VSAC value sets by
tools/build_code_map.py, and `fhir_codes.yaml`, the hand-checked rest (systems,
body sites, classes matched by prefix), each entry with its public reference.
Exact codes are looked up in an index; only the few prefix entries are scanned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from osteocheck import shipped
from osteocheck.client.records.fields import codings
from osteocheck.engine.model import Knowledge
from osteocheck.errors import KnowledgeError, ProfileError

SECTIONS = ("conditions", "medications", "observations", "procedures", "body_sites")
_ALLOWED = {"systems", "fresh_fracture_days", "recent_surgery_days", "recent_medication_days", *SECTIONS}


Index = dict[str, tuple[dict[tuple[str, str], dict[str, Any]], list[dict[str, Any]]]]
# (id of map, id of knowledge) -> (map, knowledge, extended map): the objects are kept so the ids stay theirs
_EXTENDED: dict[tuple[int, int], tuple[CodeMap, Knowledge, CodeMap]] = {}


class CodeMap(NamedTuple):
    systems: dict[str, str]
    fresh_fracture_days: int
    recent_surgery_days: int
    sections: dict[str, list[dict[str, Any]]]
    value_sets: dict[str, dict[str, Any]]
    recent_medication_days: int
    lookup: Index  # per section: exact codes by (system URI, code), and the few prefix entries

    def with_facts(self, knowledge: Knowledge) -> CodeMap:
        """The map with the codes each declared fact names, so a layered file's fact is read from records too.

        Made once per (map, knowledge) pair: a service reads many records with the same two.
        """
        key = (id(self), id(knowledge))
        kept = _EXTENDED.get(key)
        if kept is not None and kept[0] is self and kept[1] is knowledge:
            return kept[2]
        extended = self._extended(knowledge)
        if len(_EXTENDED) >= 8:
            _EXTENDED.clear()
        _EXTENDED[key] = (self, knowledge, extended)
        return extended

    def _extended(self, knowledge: Knowledge) -> CodeMap:
        added: dict[str, list[dict[str, Any]]] = {k: [] for k in self.sections}
        for fact in knowledge.facts:
            for c in fact.codes:
                if c.system in self.systems:
                    entry = {"system": c.system, "code": c.code, "display": c.display, "fact": fact.id}
                    added[c.section].insert(0, {**entry, "prefix": c.prefix})
        extra = {k: [*added[k], *v] for k, v in self.sections.items()}
        # The declared codes come first, so they win; the map's own index is extended, not rebuilt.
        ahead = _indexed(self.systems, added)
        lookup = {
            k: ({**exact, **ahead[k][0]}, [*ahead[k][1], *prefixed]) for k, (exact, prefixed) in self.lookup.items()
        }
        return self._replace(sections=extra, lookup=lookup)

    def match(self, section: str, concept: object) -> dict[str, Any] | None:
        """The entry of `section` that a coding of the CodeableConcept matches (exact codes before prefixes)."""
        exact, prefixed = self.lookup[section]
        found = [(str(x.get("system")), str(x.get("code"))) for x in codings(concept) if isinstance(x.get("code"), str)]
        for key in found:
            if key in exact:
                return exact[key]
        for system, code in found:
            for entry in prefixed:
                if self.systems[entry["system"]] == system and code.startswith(entry["code"]):
                    return entry
        return None


def _indexed(systems: dict[str, str], sections: dict[str, list[dict[str, Any]]]) -> Index:
    """Built once per map: the first entry of a code wins, as in a scan of the section."""
    index: Index = {}
    for name, entries in sections.items():
        exact: dict[tuple[str, str], dict[str, Any]] = {}
        prefixed = []
        for entry in entries:
            if entry.get("prefix"):
                prefixed.append(entry)
            else:
                exact.setdefault((systems[entry["system"]], entry["code"]), entry)
        index[name] = (exact, prefixed)
    return index


def load_code_map(path: Path | None = None) -> CodeMap:
    """The hand-checked map at `path` (default: the shipped one) with the generated entries beside it."""

    import json  # noqa: PLC0415

    from osteocheck.digest import sha256_hex  # noqa: PLC0415
    from osteocheck.parsing import cache  # noqa: PLC0415 - the YAML parsed once per content, like the knowledge

    path = path or shipped.code_map_path()
    raw = _read(path)
    try:
        data = cache.parse(raw, str(path), sha256_hex(raw)).data
    except KnowledgeError as exc:
        raise ProfileError(tuple(str(p) for p in exc.problems), usage=False) from None
    if not isinstance(data, dict):
        raise ProfileError((f"{path}: the FHIR code map must be a mapping",), usage=False)
    unknown = sorted(set(data) - _ALLOWED)
    if unknown or not isinstance(data.get("systems"), dict):
        what = f"unknown key(s) {', '.join(unknown)}" if unknown else "no 'systems' mapping"
        raise ProfileError((f"{path}: not a FHIR code map: {what}",), usage=False)
    systems = data["systems"]
    sections: dict[str, list[dict[str, Any]]] = {k: list(data.get(k, [])) for k in SECTIONS}
    value_sets: dict[str, dict[str, Any]] = {}
    generated = path.with_suffix(".json")
    if generated.is_file():
        try:
            # 2.7 MB of the builder's own output, which a test holds to exactly what the builder writes:
            # read at the JSON reader's full speed (its duplicate-key check would add nothing here).
            extra = json.loads(_read(generated).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProfileError((f"{generated}: not a generated code map: {exc}",), usage=False) from None
        if not isinstance(extra, dict) or not isinstance(extra.get("value_sets"), dict):
            raise ProfileError((f"{generated}: not a generated code map",), usage=False)
        value_sets = extra["value_sets"]
        for name in SECTIONS:
            sections[name] += list(extra.get(name, []))
    for name, entries in sections.items():
        for i, entry in enumerate(entries):
            if (
                not isinstance(entry, dict)
                or entry.get("system") not in systems
                or not isinstance(entry.get("code"), str)
            ):
                raise ProfileError((f"{path}: {name}[{i}] needs a known 'system' and a 'code'",), usage=False)
    days = int(data.get("fresh_fracture_days", 90)), int(data.get("recent_surgery_days", 90))
    medication_days = int(data.get("recent_medication_days", 90))
    return CodeMap(systems, days[0], days[1], sections, value_sets, medication_days, _indexed(systems, sections))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProfileError((f"{path}: cannot read the FHIR code map: {exc.strerror}",), usage=False) from None
