"""The code map: which coded concepts (SNOMED CT, ICD-10, RxNorm, ATC, LOINC) become which profile facts.

`fhir_codes.json`, generated from NLM VSAC value sets by tools/build_code_map.py
(every code with its display and value sets), and `fhir_codes.yaml`, the
hand-checked rest (systems, body sites, classes matched by prefix), each entry with
its public reference. The reader loads `fhir_codes.index.json`, which the builder
writes beside the generated file: each of its ~90 meanings once and, per system, a
table of code -> meaning (160 KB instead of 2.8 MB); the full file is read only
when its entries are asked for. Only the few prefix entries are scanned.
"""

from __future__ import annotations

import functools
import itertools
import math
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

from osteocheck import shipped
from osteocheck.client.records.fields import codings
from osteocheck.engine.model import Knowledge
from osteocheck.errors import KnowledgeError, ProfileError

SECTIONS = ("conditions", "medications", "observations", "procedures", "body_sites")
_ALLOWED = {
    "systems",
    "system_aliases",
    "fresh_fracture_days",
    "recent_surgery_days",
    "recent_medication_days",
    "t_score_current",
    *SECTIONS,
}


# per section: system URI -> code -> what it means (a number into `meanings` for a generated code, the
# entry itself for a hand-checked or declared one), and system URI -> the few entries matched by prefix
Exact = dict[str, dict[str, Any]]
Index = dict[str, tuple[Exact, dict[str, list[dict[str, Any]]]]]
_NONE: dict[str, Any] = {}  # the codes of a system the map does not hold
# (id of map, id of knowledge) -> (map, knowledge, extended map): the objects are kept so the ids stay theirs
_EXTENDED: dict[tuple[int, int], tuple[CodeMap, Knowledge, CodeMap]] = {}
# what a generated entry says only about where it came from: not part of what the code means
PROVENANCE = ("system", "code", "display", "value_sets", "reference")


class CodeMap(NamedTuple):
    systems: dict[str, str]
    fresh_fracture_days: int
    recent_surgery_days: int
    sections: dict[str, list[dict[str, Any]]]  # the hand-checked entries (and a knowledge's declared codes)
    recent_medication_days: int
    lookup: Index
    meanings: tuple[dict[str, Any], ...] = ()  # what a generated code means, by number
    generated: Path | None = None  # the generated entries in full, with their provenance: read only when asked
    aliases: dict[str, str] | None = None  # another URI of a system (its urn:oid:) -> the URI the map uses
    t_score_years: tuple[tuple[float, float], ...] = ()  # (above, years): how long a T-score above it is current
    t_score_reference: str = ""  # where those years come from

    def t_score_current_for(self, value: float) -> float | None:
        """How many years a T-score of `value` shows the bones are where it says; None: however old."""
        for above, years in self.t_score_years:
            if value > above:
                return years
        return None

    def entries(self, section: str) -> list[dict[str, Any]]:
        """Every entry of a section, hand-checked first, then the generated ones with their provenance."""
        full = _generated(str(self.generated)) if self.generated is not None else {}
        return [*self.sections[section], *full.get(section, [])]

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
        # The declared codes come first, so they win; the map's own index is extended (per system), not rebuilt.
        ahead = _indexed(self.systems, added)
        lookup: Index = {}
        for k, (exact, prefixed) in self.lookup.items():
            merged = dict(exact)
            for uri, codes in ahead[k][0].items():
                merged[uri] = {**exact.get(uri, {}), **codes}
            by_prefix = {
                uri: [*ahead[k][1].get(uri, []), *prefixed.get(uri, [])] for uri in {**ahead[k][1], **prefixed}
            }
            lookup[k] = (merged, by_prefix)
        return self._replace(sections=extra, lookup=lookup)

    def match(self, section: str, concept: object, coded: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
        """What the first coding of the CodeableConcept that the section knows means (exact codes before
        prefixes); `coded`, the concept's codings when the caller has them already."""
        exact, prefixed = self.lookup[section]
        found = []
        for x in codings(concept) if coded is None else coded:
            code = x.get("code")
            if isinstance(code, str):
                system = str(x.get("system"))
                if self.aliases:
                    system = self.aliases.get(system, system)
                hit = exact.get(system, _NONE).get(code)
                if hit is None and system in (self.systems.get("icd10"), self.systems.get("icd10cm")):
                    code = icd_form(code)
                    hit = exact.get(system, _NONE).get(code)
                    if hit is None and system == self.systems.get("icd10cm"):
                        other = _other_encounter(exact.get(system, _NONE), code, self.meanings)
                        if other is not None:
                            return other
                if hit is not None:
                    return self.meanings[hit] if isinstance(hit, int) else hit
                if system in prefixed:
                    found.append((system, code))
        for system, code in found:
            for entry in prefixed[system]:
                if code.startswith(entry["code"]):
                    return _as_encountered(entry, code) if system == self.systems.get("icd10cm") else entry
        return None


def _other_encounter(codes: dict[str, Any], code: str, meanings: tuple[dict[str, Any], ...]) -> dict[str, Any] | None:
    """What an ICD-10-CM injury code of a later encounter means. Its 7th character names the encounter (the
    Tabular List: A or B initial, D to R subsequent, with routine or delayed healing, nonunion or malunion;
    S sequela), and value sets often list only the initial ones: the fracture or wound still under care
    means what its initial encounter means."""
    if len(code) != 8 or code[3] != "." or not "A" <= code[7] <= "Z":  # icd_form made it upper case
        return None
    hit = codes.get(code[:7] + "A", codes.get(code[:7] + "B"))
    return None if hit is None else _as_encountered(meanings[hit] if isinstance(hit, int) else hit, code)


def _as_encountered(meaning: dict[str, Any], code: str) -> dict[str, Any] | None:
    """A sequela (an ICD-10-CM 7th character S) means only that there was a fracture; a wound's, nothing."""
    if len(code) != 8 or code[7] != "S":
        return meaning
    if meaning.get("kind") != "fracture":
        return None
    return {k: v for k, v in meaning.items() if k not in ("kind", "sites")} | {"fact": "fracture_history"}


def icd_form(code: str) -> str:
    """An ICD-10 code as the classification writes it: records often send "S72001A" or "s72.001a" for
    "S72.001A", and read as sent the fracture would go unrecognised."""
    code = code.strip().upper()
    return code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _indexed(systems: dict[str, str], sections: dict[str, list[dict[str, Any]]]) -> Index:
    """The first entry of a code wins, as in a scan of the section."""
    index: Index = {}
    for name, entries in sections.items():
        exact: Exact = {}
        prefixed: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            if entry.get("prefix"):
                prefixed.setdefault(systems[entry["system"]], []).append(entry)
            else:
                exact.setdefault(systems[entry["system"]], {}).setdefault(entry["code"], entry)
        index[name] = (exact, prefixed)
    return index


def index_of(generated: dict[str, Any]) -> dict[str, Any]:
    """The generated entries as the reader loads them: each distinct meaning once, and per section and system
    a table of code -> meaning number (the first entry of a code wins). tools/build_code_map.py writes it
    beside the full file; a test holds the two together."""
    import json  # noqa: PLC0415

    meanings: list[dict[str, Any]] = []
    numbers: dict[str, int] = {}
    out: dict[str, Any] = {"generated_from": "fhir_codes.json", "meanings": meanings}
    for section in SECTIONS:
        table: dict[str, dict[str, int]] = {}
        for entry in generated.get(section, []):
            meaning = {k: v for k, v in entry.items() if k not in PROVENANCE}
            key = json.dumps(meaning, sort_keys=True)
            if key not in numbers:
                numbers[key] = len(meanings)
                meanings.append(meaning)
            table.setdefault(entry["system"], {}).setdefault(entry["code"], numbers[key])
        if table:
            out[section] = table
    return out


@functools.lru_cache(maxsize=4)
def _generated(path: str) -> dict[str, Any]:
    import json  # noqa: PLC0415

    data = json.loads(_read(Path(path)).decode("utf-8"))
    return data if isinstance(data, dict) else {}


def load_code_map(path: Path | None = None) -> CodeMap:
    """The hand-checked map at `path` (default: the shipped one) with the generated entries beside it."""

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
    named = data.get("system_aliases", {})
    if not isinstance(named, dict) or not all(isinstance(k, str) and v in systems for k, v in named.items()):
        raise ProfileError((f"{path}: system_aliases must map a URI to a system of 'systems'",), usage=False)
    aliases = {uri: systems[name] for uri, name in named.items()}
    sections: dict[str, list[dict[str, Any]]] = {k: list(data.get(k, [])) for k in SECTIONS}
    for name, entries in sections.items():
        for i, entry in enumerate(entries):
            if (
                not isinstance(entry, dict)
                or entry.get("system") not in systems
                or not isinstance(entry.get("code"), str)
            ):
                raise ProfileError((f"{path}: {name}[{i}] needs a known 'system' and a 'code'",), usage=False)
    lookup = _indexed(systems, sections)
    generated = path.with_suffix(".json")
    meanings: tuple[dict[str, Any], ...] = ()
    if generated.is_file():
        index = _index(path, generated)
        meanings = tuple(index["meanings"])
        for name in SECTIONS:
            exact = lookup[name][0]
            for system, codes in index.get(name, {}).items():
                if system not in systems:
                    raise ProfileError((f"{generated}: {name}: unknown system {system!r}",), usage=False)
                codes.update(exact.get(systems[system], {}))  # the hand-checked entry of a code wins
                exact[systems[system]] = codes
    days = int(data.get("fresh_fracture_days", 90)), int(data.get("recent_surgery_days", 90))
    medication_days = int(data.get("recent_medication_days", 90))
    years, reference = _t_score_current(path, data.get("t_score_current", {}))
    return CodeMap(
        systems, days[0], days[1], sections, medication_days, lookup, meanings, generated if meanings else None,
        aliases, years, reference,
    )  # fmt: skip


def _t_score_current(path: Path, given: object) -> tuple[tuple[tuple[float, float], ...], str]:
    """The bands of `t_score_current`, highest first, each (above, years), and their reference."""
    bands = given.get("years", []) if isinstance(given, dict) else None
    reference = given.get("reference", "") if isinstance(given, dict) else None
    out: list[tuple[float, float]] = []
    for band in bands if isinstance(bands, list) else [None]:
        above, years = (band.get("above"), band.get("years")) if isinstance(band, dict) else (None, None)
        if not (_number(above) and _number(years) and years > 0):
            problem = "each band needs a number 'above' and a number of 'years' over 0"
            raise ProfileError((f"{path}: t_score_current.years: {problem}",), usage=False)
        out.append((float(above), float(years)))
    highest_first = all(a[0] > b[0] for a, b in itertools.pairwise(out))
    if not highest_first or not isinstance(reference, str) or (out and not reference.strip()):
        problem = "the bands go from the highest 'above' down, and a 'reference' says where they come from"
        raise ProfileError((f"{path}: t_score_current: {problem}",), usage=False)
    return tuple(out), reference


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _index(path: Path, generated: Path) -> dict[str, Any]:
    """The generated entries' index (`fhir_codes.index.json`), checked in shape; made from the full file
    when a map has none beside it."""
    import json  # noqa: PLC0415

    written = path.with_suffix(".index.json")
    try:
        index = (
            json.loads(_read(written).decode("utf-8")) if written.is_file() else index_of(_generated(str(generated)))
        )
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise ProfileError((f"{written}: not a generated code map index: {exc}",), usage=False) from None
    meanings = index.get("meanings") if isinstance(index, dict) else None
    if not isinstance(meanings, list) or not all(isinstance(m, dict) for m in meanings):
        raise ProfileError((f"{written}: not a generated code map index",), usage=False)
    for name in SECTIONS:
        tables = index.get(name, {})
        for codes in tables.values() if isinstance(tables, dict) else [None]:
            values = codes.values() if isinstance(codes, dict) else [None]
            if set(map(type, values)) - {int} or (values and not 0 <= min(values) <= max(values) < len(meanings)):
                raise ProfileError((f"{written}: {name}: not a table of codes to meanings",), usage=False)
    return index


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProfileError((f"{path}: cannot read the FHIR code map: {exc.strerror}",), usage=False) from None
