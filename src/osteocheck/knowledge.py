"""Load a knowledge file: text -> plain data (strict YAML) -> typed, frozen Knowledge.

Structure is checked against `schema.SCHEMA`, then meaning (references, ids,
sources, coverage); every problem is collected and reported together with
file:line:column. A file with any error yields no Knowledge at all.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from osteocheck import cache, schemacheck
from osteocheck.conditions import AllOf, Always, AnyOf, Condition, Fact, SiteIn, StageAtLeast
from osteocheck.document import MAX_BYTES, Document
from osteocheck.errors import KnowledgeError, Problem
from osteocheck.facts import ENV_VAR
from osteocheck.model import (
    Basis,
    BoneDensity,
    Effects,
    Item,
    Knowledge,
    Positioning,
    PressureLevel,
    Rule,
    Severity,
    Site,
    Source,
    Technique,
)
from osteocheck.schema import SCHEMA

REQUIRED_SITES = (
    "spine", "hips", "wrists", "ribs", "neck", "shoulders", "arms", "hands",
    "pelvis", "legs", "knees", "ankles", "feet", "abdomen", "head",
)  # fmt: skip
REQUIRED_TECHNIQUES = (
    "light_effleurage", "mild_kneading", "vibration", "myofascial_release", "reflexology",
    "lymphatic_drainage", "craniosacral_therapy", "deep_tissue_massage", "vigorous_compression",
    "joint_mobilization", "passive_stretching", "deep_kneading", "muscle_stripping", "friction",
    "forceful_stretching",
)  # fmt: skip
REQUIRED_POSITIONING = ("chair", "bolstering", "side_lying")
_FULL_SECTIONS = (
    "sources", "summary", "signs", "pressure_scale", "bone_density", "sites",
    "techniques", "positioning", "assessment", "self_care", "rules",
)  # fmt: skip
_LIST_SECTIONS = (
    "sources", "summary", "goals", "signs", "sites", "techniques", "positioning", "assessment", "self_care", "rules",
)  # fmt: skip


def shipped_path() -> Path:
    """The knowledge file inside the installed package, or in the source tree."""
    here = Path(__file__).resolve().parent
    packaged = here / "data" / "osteoporosis.yaml"
    return packaged if packaged.is_file() else here.parents[1] / "data" / "osteoporosis.yaml"


def resolve_path(explicit: str | Path | None) -> Path:
    """`--rules` if given, else $OSTEOCHECK_RULES, else the shipped file."""
    chosen = explicit or os.environ.get(ENV_VAR) or None
    return Path(chosen) if chosen else shipped_path()


def read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise KnowledgeError((Problem(str(path), 1, 1, "error", f"cannot read knowledge file: {reason}"),)) from None
    return raw


def parse(raw: bytes, file: str, digest: str, *, use_cache: bool = True) -> Document:
    """Bytes -> plain data, from the cache when this exact content was parsed before."""
    if use_cache:
        cached = cache.get(digest, file)
        if cached is not None:
            return cached
    from osteocheck import strictyaml  # noqa: PLC0415 - YAML is imported only when a file is parsed

    doc = strictyaml.load(raw, file)
    cache.put(digest, doc)
    return doc


def load(path: Path) -> Knowledge:
    """Read, check and build; raise KnowledgeError listing every error (warnings do not stop it)."""
    knowledge, problems = check(path)
    if knowledge is None:
        raise KnowledgeError(tuple(p for p in problems if p.is_error))
    return knowledge


def check(path: Path, *, use_cache: bool = True) -> tuple[Knowledge | None, tuple[Problem, ...]]:
    """Every problem in the file (and any file it extends), and the Knowledge if there are no errors.

    A cached parse that shows any problem is parsed afresh, so the cache can never change a verdict
    or a message: it only saves time on files that are clean.
    """
    try:
        knowledge, problems = _check(path, use_cache=use_cache)
        if use_cache and problems:
            return _check(path, use_cache=False)
    except KnowledgeError as exc:  # a file that cannot be read at all
        return None, exc.problems
    return knowledge, problems


def _check(path: Path, *, use_cache: bool) -> tuple[Knowledge | None, tuple[Problem, ...]]:
    raw = read_bytes(path)
    digest = hashlib.sha256(raw)
    try:
        doc = parse(raw, str(path), digest.hexdigest(), use_cache=use_cache)
    except KnowledgeError as exc:
        return None, exc.problems
    problems = list(_structure(doc))
    if any(p.is_error for p in problems):
        return None, _sorted(problems)
    data: dict[str, Any] = doc.data  # type: ignore[assignment]
    if "extends" in data:
        base_path = shipped_path() if data["extends"] == "shipped" else (path.parent / data["extends"])
        if base_path.resolve() == path.resolve():
            return None, (doc.problem(("extends",), "a knowledge file cannot extend itself"),)
        base_raw = read_bytes(base_path)
        try:
            base_doc = parse(base_raw, str(base_path), hashlib.sha256(base_raw).hexdigest(), use_cache=use_cache)
        except KnowledgeError as exc:
            return None, exc.problems
        base_problems = list(_structure(base_doc))
        if "extends" in base_doc.data:  # type: ignore[operator]
            base_problems.append(base_doc.problem(("extends",), "a base knowledge file cannot itself extend another"))
        if any(p.is_error for p in base_problems):
            return None, _sorted(base_problems)
        digest.update(base_raw)
        data, owner = _layer(base_doc, doc, problems)
    else:
        owner = {}
    builder = _Builder(data, doc, owner, path, digest.hexdigest())
    knowledge = builder.build()
    problems.extend(builder.problems)
    problems.extend(_check_quotes(builder))
    if any(p.is_error for p in problems):
        return None, _sorted(problems)
    return knowledge, _sorted(problems)


def _sorted(problems: list[Problem]) -> tuple[Problem, ...]:
    return tuple(sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line, p.column, p.message)))


def _structure(doc: Document) -> list[Problem]:
    if not isinstance(doc.data, dict):
        return [doc.problem((), "a knowledge file must be a mapping of sections (id, version, title, rules, ...)")]
    return [doc.problem(path, message) for path, message in schemacheck.check(doc.data, SCHEMA, SCHEMA)]


# (section, index in the merged list) -> the file that holds the entry, and its index there
Owner = dict[tuple[str, int], tuple[Document, int]]


def _layer(base: Document, top: Document, problems: list[Problem]) -> tuple[dict[str, Any], Owner]:
    """The base's data with the top file's entries appended; redefining a base entry is an error."""
    base_data: dict[str, Any] = base.data  # type: ignore[assignment]
    top_data: dict[str, Any] = top.data  # type: ignore[assignment]
    merged = {k: v for k, v in base_data.items() if k not in _LIST_SECTIONS}
    owner: Owner = {}
    for key in _LIST_SECTIONS:
        entries = list(base_data.get(key, []))
        owner.update({(key, i): (base, i) for i in range(len(entries))})
        ids = {e["id"] for e in entries}
        for j, entry in enumerate(top_data.get(key, [])):
            if entry["id"] in ids:
                problems.append(
                    top.problem(
                        (key, j, "id"),
                        f"'{entry['id']}' is already defined in {base.file}: a layered file may only add, "
                        "never redefine, loosen or remove shipped knowledge",
                    )
                )
                continue
            owner[(key, len(entries))] = (top, j)
            entries.append(entry)
        merged[key] = entries
    for key in top_data:
        if key not in _LIST_SECTIONS and key not in ("id", "version", "title", "extends"):
            problems.append(
                top.problem((key,), f"'{key}' cannot be changed by a layered file: layering may only add entries")
            )
    merged.update(id=top_data["id"], version=top_data["version"], title=top_data["title"])
    return merged, owner


class _Builder:
    """Turns checked data into Knowledge, collecting semantic problems as it goes."""

    def __init__(self, data: dict[str, Any], doc: Document, owner: Owner, path: Path, sha256: str) -> None:
        self.data = data
        self.doc = doc
        self.owner = owner
        self.path = path
        self.sha256 = sha256
        self.problems: list[Problem] = []
        self.sources: dict[str, dict[str, Any]] = {}
        self.source_dirs: dict[str, Path] = {}  # a source's file is relative to the file declaring it
        self.cited: list[tuple[Document, tuple[str | int, ...], Source]] = []
        self.used_sources: set[str] = set()

    # -- locations -------------------------------------------------------
    def _locate(self, path: tuple[str | int, ...]) -> tuple[Document, tuple[str | int, ...]]:
        """The file that holds a merged path, and the path inside that file."""
        if len(path) >= 2 and isinstance(path[0], str) and isinstance(path[1], int):
            found = self.owner.get((path[0], path[1]))
            if found is not None:
                return found[0], (path[0], found[1], *path[2:])
        return self.doc, path

    def error(self, path: tuple[str | int, ...], message: str, severity: str = "error") -> None:
        doc, local = self._locate(path)
        self.problems.append(doc.problem(local, message, severity))

    # -- building --------------------------------------------------------
    def build(self) -> Knowledge | None:
        d = self.data
        if "extends" not in self.doc.data:  # type: ignore[operator]
            for section in _FULL_SECTIONS:
                if section not in d:
                    self.error((), f"missing section '{section}' (a file without 'extends' must be complete)")
        for i, s in enumerate(d.get("sources", [])):
            if s["id"] in self.sources:
                self.error(("sources", i, "id"), f"duplicate source id '{s['id']}'")
            self.sources[s["id"]] = s
            self.source_dirs[s["id"]] = Path(self._locate(("sources", i))[0].file).parent
        summary = self._items("summary")
        goals = self._items("goals")
        signs = self._items("signs")
        assessment = self._items("assessment")
        self_care = self._items("self_care")
        scale = self._scale()
        levels = {p.level for p in scale}
        sites = self._sites()
        site_ids = {s.id for s in sites}
        techniques = self._techniques(levels)
        positioning = self._positioning()
        bone = self._bone_density()
        refs = {
            "technique": {t.id for t in techniques},
            "site": site_ids,
            "positioning": {p.id for p in positioning},
            "assessment": {a.id for a in assessment},
            "self_care": {s.id for s in self_care},
        }
        if "at_risk_source" in d:
            self._basis({"source": d["at_risk_source"]}, ("at_risk_source",))
        rules = tuple(self._rule(i, r, refs, levels) for i, r in enumerate(d.get("rules", [])))
        self._coverage(rules)
        self._unused_sources()
        if any(p.is_error for p in self.problems) or bone is None:
            return None
        return Knowledge(
            id=d["id"],
            version=d["version"],
            title=d["title"],
            sha256=self.sha256,
            path=str(self.path),
            summary=summary,
            goals=goals,
            signs=signs,
            pressure_scale=scale,
            bone_density=bone,
            sites=sites,
            techniques=techniques,
            positioning=positioning,
            assessment=assessment,
            self_care=self_care,
            rules=rules,
        )

    def _basis(self, entry: dict[str, Any], path: tuple[str | int, ...]) -> Basis:
        src = entry["source"]
        meta = self.sources.get(src["ref"])
        if meta is None:
            self.error(
                (*path, "source", "ref"),
                f"unknown source '{src['ref']}'{schemacheck.suggest(src['ref'], list(self.sources))}",
            )
            meta = {"title": src["ref"]}
        else:
            self.used_sources.add(src["ref"])
        source = Source(ref=src["ref"], title=meta["title"], quote=src["quote"])
        self.cited.append((*self._locate((*path, "source", "quote")), source))
        inferred = entry.get("basis") == "inferred"
        rationale = entry.get("rationale")
        if inferred and not rationale:
            self.error(
                (*path, "basis"),
                "an inferred entry needs a 'rationale' saying why it follows from its source",
                "warning",
            )
        if rationale and not inferred:
            self.error((*path, "rationale"), "a rationale is given but 'basis' is not 'inferred'", "warning")
        return Basis(source=source, inference=(rationale or "inferred") if inferred else None)

    def _unique(self, section: str) -> list[tuple[int, dict[str, Any]]]:
        seen: set[str] = set()
        entries = []
        for i, entry in enumerate(self.data.get(section, [])):
            if entry["id"] in seen:
                self.error((section, i, "id"), f"duplicate id '{entry['id']}' in {section}")
            seen.add(entry["id"])
            entries.append((i, entry))
        return entries

    def _items(self, section: str) -> tuple[Item, ...]:
        return tuple(
            Item(
                id=e["id"],
                text=e["text"],
                basis=self._basis(e, (section, i)),
                advice=e.get("advice", ""),
                always=e.get("always", True),
                facts=tuple(e.get("facts", ())),
            )
            for i, e in self._unique(section)
        )

    def _scale(self) -> tuple[PressureLevel, ...]:
        scale = []
        for i, e in enumerate(self.data.get("pressure_scale", [])):
            if e["level"] != i + 1:
                self.error(("pressure_scale", i, "level"), f"levels must run 1, 2, 3, ... in order; expected {i + 1}")
            scale.append(PressureLevel(e["level"], e["label"], e["feel"], self._basis(e, ("pressure_scale", i))))
        return tuple(scale)

    def _sites(self) -> tuple[Site, ...]:
        sites = tuple(Site(e["id"], e["name"], e.get("at_risk", False)) for _, e in self._unique("sites"))
        ids = {s.id for s in sites}
        missing = [s for s in REQUIRED_SITES if s not in ids]
        if missing and "sites" in self.data:
            self.error(("sites",), f"the site vocabulary lacks required sites: {', '.join(missing)}")
        return sites

    def _techniques(self, levels: set[int]) -> tuple[Technique, ...]:
        out = []
        for i, e in self._unique("techniques"):
            if levels and e["pressure"] not in levels:
                self.error(
                    ("techniques", i, "pressure"), f"pressure {e['pressure']} is not a level of the pressure scale"
                )
            basis = self._basis(e, ("techniques", i))
            out.append(Technique(e["id"], e["name"], e["category"], e["description"], e["pressure"], basis))
        ids = {t.id for t in out}
        missing = [t for t in REQUIRED_TECHNIQUES if t not in ids]
        if missing and "techniques" in self.data:
            self.error(("techniques",), f"the catalogue lacks required techniques: {', '.join(missing)}")
        return tuple(out)

    def _positioning(self) -> tuple[Positioning, ...]:
        out = tuple(
            Positioning(e["id"], e["name"], e["fits"], self._basis(e, ("positioning", i)))
            for i, e in self._unique("positioning")
        )
        missing = [p for p in REQUIRED_POSITIONING if p not in {o.id for o in out}]
        if missing and "positioning" in self.data:
            self.error(("positioning",), f"positioning lacks required options: {', '.join(missing)}")
        return out

    def _bone_density(self) -> BoneDensity | None:
        e = self.data.get("bone_density")
        if e is None:
            return None
        normal, osteo = float(e["normal_at_or_above"]), float(e["osteoporosis_at_or_below"])
        if not osteo < normal:
            self.error(("bone_density",), "osteoporosis_at_or_below must be lower than normal_at_or_above")
        return BoneDensity(e["convention"], normal, osteo, self._basis(e, ("bone_density",)))

    def _rule(self, i: int, e: dict[str, Any], refs: dict[str, set[str]], levels: set[int]) -> Rule:
        path: tuple[str | int, ...] = ("rules", i)
        if e["id"] in {r["id"] for r in self.data["rules"][:i]}:
            self.error((*path, "id"), f"duplicate rule id '{e['id']}'")
        if "when" not in e and "for_each" not in e:
            self.error(path, "a rule needs 'when' (or 'for_each')")
        when = self._condition(e.get("when", "always"), (*path, "when"), refs["site"])
        fx = e["effects"]
        fpath = (*path, "effects")
        for key, kind in (
            ("exclude", "technique"),
            ("positioning", "positioning"),
            ("assessment", "assessment"),
            ("self_care", "self_care"),
        ):
            for j, ref in enumerate(fx.get(key, [])):
                self._ref(ref, kind, refs, (*fpath, key, j))
        for ref in fx.get("modify", {}):
            self._ref(ref, "technique", refs, (*fpath, "modify", ref))
        for j, ref in enumerate(e.get("sites", [])):
            self._ref(ref, "site", refs, (*path, "sites", j))
        for key in ("max_pressure", "site_pressure"):
            if key in fx and levels and fx[key] not in levels:
                self.error((*fpath, key), f"pressure {fx[key]} is not a level of the pressure scale")
        sited = bool(e.get("sites")) or "for_each" in e
        if e.get("sites") and "for_each" in e:
            self.error((*path, "sites"), "a rule takes either 'sites' or 'for_each', not both")
        for key in ("site_pressure", "no_treatment"):
            if key in fx and not sited:
                self.error((*fpath, key), f"'{key}' needs the rule to name its sites ('sites' or 'for_each')")
        if e.get("unless_cleared"):
            if not sited:
                self.error(
                    (*path, "unless_cleared"), "'unless_cleared' needs a rule about sites ('sites' or 'for_each')"
                )
            if not (fx.get("no_treatment") or fx.get("clearance")):
                self.error(
                    (*path, "unless_cleared"), "'unless_cleared' only makes sense with 'no_treatment' or 'clearance'"
                )
        if fx.get("no_treatment") and not e.get("unless_cleared") and fx.get("clearance"):
            self.error(
                (*fpath, "clearance"),
                "clearance is asked for but the rule is not 'unless_cleared', so clearance could never lift it",
                "warning",
            )
        modify = tuple((k, v) for k, v in fx.get("modify", {}).items())
        effects = Effects(
            exclude=tuple(fx.get("exclude", ())),
            modify=modify,
            max_pressure=fx.get("max_pressure"),
            site_pressure=fx.get("site_pressure"),
            no_treatment=bool(fx.get("no_treatment", False)),
            clearance=bool(fx.get("clearance", False)),
            positioning=tuple(fx.get("positioning", ())),
            assessment=tuple(fx.get("assessment", ())),
            self_care=tuple(fx.get("self_care", ())),
        )
        return Rule(
            id=e["id"],
            when=when,
            severity=Severity(e["severity"]),
            text=e["text"],
            basis=self._basis(e, path),
            effects=effects,
            sites=tuple(e.get("sites", ())),
            for_each=e.get("for_each"),
            unless_cleared=bool(e.get("unless_cleared", False)),
            client_reason=e.get("client_reason", ""),
        )

    def _ref(self, ref: str, kind: str, refs: dict[str, set[str]], path: tuple[str | int, ...]) -> None:
        if ref not in refs[kind]:
            hint = schemacheck.suggest(ref, sorted(refs[kind]))
            self.error(path, f"unknown {kind.replace('_', '-')} '{ref}'{hint}")

    def _condition(self, raw: Any, path: tuple[str | int, ...], sites: set[str]) -> Condition:
        """Compile a checked condition; the schema has already fixed its shape."""
        if raw == "always":
            return Always()
        if isinstance(raw, str):
            return Fact(raw)
        if "all" in raw:
            return AllOf(tuple(self._condition(c, (*path, "all", j), sites) for j, c in enumerate(raw["all"])))
        if "any" in raw:
            return AnyOf(tuple(self._condition(c, (*path, "any", j), sites) for j, c in enumerate(raw["any"])))
        if "stage_at_least" in raw:
            return StageAtLeast(raw["stage_at_least"])
        if raw["site"] not in sites:
            hint = schemacheck.suggest(raw["site"], sorted(sites))
            self.error((*path, "site"), f"unknown site '{raw['site']}'{hint}: this condition could never be true")
        return SiteIn(raw["site"], raw["in"])

    def _coverage(self, rules: tuple[Rule, ...]) -> None:
        named = {t for r in rules for t in (*r.effects.exclude, *(m[0] for m in r.effects.modify))}
        recommended = {p for r in rules for p in r.effects.positioning}
        added = {s for r in rules for s in r.effects.self_care}
        for i, t in enumerate(self.data.get("techniques", [])):
            if t["id"] not in named:
                self.error(
                    ("techniques", i, "id"),
                    f"technique '{t['id']}' is named by no rule: it can only ever be 'safe'",
                    "warning",
                )
        for i, p in enumerate(self.data.get("positioning", [])):
            if p["id"] not in recommended:
                self.error(("positioning", i, "id"), f"positioning '{p['id']}' is recommended by no rule")
        for i, s in enumerate(self.data.get("self_care", [])):
            if not s.get("always", True) and s["id"] not in added:
                self.error(
                    ("self_care", i, "id"), f"self-care point '{s['id']}' has 'always: false' but no rule adds it"
                )

    def _unused_sources(self) -> None:
        for i, s in enumerate(self.data.get("sources", [])):
            if s["id"] not in self.used_sources:
                self.error(("sources", i, "id"), f"source '{s['id']}' is cited by no entry", "warning")


_SPACE = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _check_quotes(builder: _Builder) -> list[Problem]:
    """Each quote must stand verbatim (white space folded) in the file its source names."""
    problems: list[Problem] = []
    texts: dict[Path, str | None] = {}
    for doc, path, source in builder.cited:
        meta = builder.sources.get(source.ref)
        if not meta or "file" not in meta:
            continue
        file = builder.source_dirs[source.ref] / meta["file"]
        if file not in texts:
            try:
                texts[file] = _fold(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                texts[file] = None
                problems.append(doc.problem(path, f"source file {meta['file']} cannot be read", "warning"))
        text = texts[file]
        if text is not None and _fold(source.quote) not in text:
            problems.append(doc.problem(path, f"quote not found in source file {meta['file']}"))
    return problems
