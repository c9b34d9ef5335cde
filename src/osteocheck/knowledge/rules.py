"""Rules: every reference resolved, every combination of effects that makes sense, conditions compiled once."""

from __future__ import annotations

from typing import Any

from osteocheck.engine.conditions import AllOf, Always, AnyOf, Fact, SiteIn, StageAtLeast
from osteocheck.engine.model import Condition, Effects, Rule, Severity
from osteocheck.knowledge.catalogue import Section
from osteocheck.knowledge.report import DataPath
from osteocheck.words import suggest

# kind -> the ids a rule may name of that kind
Refs = dict[str, set[str]]


def rule(ctx: Section, i: int, e: dict[str, Any], refs: Refs, levels: set[int]) -> Rule:
    path: DataPath = ("rules", i)
    if e["id"] in {r["id"] for r in ctx.data["rules"][:i]}:
        ctx.report.error((*path, "id"), f"duplicate rule id '{e['id']}'")
    if "when" not in e and "for_each" not in e:
        ctx.report.error(path, "a rule needs 'when' (or 'for_each')")
    when = condition(ctx, e.get("when", "always"), (*path, "when"), refs)
    if "for_each" in e:
        _ref(ctx, e["for_each"], "per-site fact", refs, (*path, "for_each"))
    _check_refs(ctx, e, refs, path)
    _check_effects(ctx, e, levels, path)
    fx = e["effects"]
    effects = Effects(
        exclude=tuple(fx.get("exclude", ())),
        exclude_at_sites=tuple(fx.get("exclude_at_sites", ())),
        modify=tuple(fx.get("modify", {}).items()),
        max_pressure=fx.get("max_pressure"),
        site_pressure=fx.get("site_pressure"),
        no_treatment=bool(fx.get("no_treatment")),
        clearance=bool(fx.get("clearance")),
        positioning=tuple(fx.get("positioning", ())),
        avoid_positioning=tuple(fx.get("avoid_positioning", ())),
        assessment=tuple(fx.get("assessment", ())),
        self_care=tuple(fx.get("self_care", ())),
        withhold_self_care=tuple(fx.get("withhold_self_care", ())),
        postpone=bool(fx.get("postpone")),
    )
    return Rule(
        id=e["id"],
        when=when,
        severity=Severity(e["severity"]),
        text=e["text"],
        basis=ctx.cite.basis(e, path),
        effects=effects,
        sites=tuple(e.get("sites", ())),
        for_each=e.get("for_each"),
        unless_cleared=bool(e.get("unless_cleared")),
        client_reason=e.get("client_reason", ""),
        physician_question=e.get("physician_question", ""),
    )


def _check_refs(ctx: Section, e: dict[str, Any], refs: Refs, path: DataPath) -> None:
    fpath = (*path, "effects")
    fx = e["effects"]
    for key, kind in (
        ("exclude", "technique"),
        ("exclude_at_sites", "technique"),
        ("positioning", "positioning"),
        ("avoid_positioning", "positioning"),
        ("assessment", "assessment"),
        ("self_care", "self_care"),
        ("withhold_self_care", "self_care"),
    ):
        for j, ref in enumerate(fx.get(key, [])):
            _ref(ctx, ref, kind, refs, (*fpath, key, j))
    for ref in fx.get("modify", {}):
        _ref(ctx, ref, "technique", refs, (*fpath, "modify", ref))
    for j, ref in enumerate(e.get("sites", [])):
        _ref(ctx, ref, "site", refs, (*path, "sites", j))


def _check_effects(ctx: Section, e: dict[str, Any], levels: set[int], path: DataPath) -> None:
    """Effects that could never apply, or never be lifted, are errors the author must see."""
    fpath = (*path, "effects")
    fx = e["effects"]
    error = ctx.report.error
    for key in ("max_pressure", "site_pressure"):
        if key in fx and levels and fx[key] not in levels:
            error((*fpath, key), f"pressure {fx[key]} is not a level of the pressure scale")
    sited = bool(e.get("sites")) or "for_each" in e
    if e.get("sites") and "for_each" in e:
        error((*path, "sites"), "a rule takes either 'sites' or 'for_each', not both")
    for key in ("site_pressure", "no_treatment", "exclude_at_sites"):
        if key in fx and not sited:
            error((*fpath, key), f"'{key}' needs the rule to name its sites ('sites' or 'for_each')")
    if e.get("unless_cleared"):
        if not sited:
            error((*path, "unless_cleared"), "'unless_cleared' needs a rule about sites ('sites' or 'for_each')")
        if not (fx.get("no_treatment") or fx.get("clearance")):
            error((*path, "unless_cleared"), "'unless_cleared' only makes sense with 'no_treatment' or 'clearance'")
    if fx.get("no_treatment") and not e.get("unless_cleared") and fx.get("clearance"):
        ctx.report.warn(
            (*fpath, "clearance"),
            "clearance is asked for but the rule is not 'unless_cleared', so clearance could never lift it",
        )


def item_refs(ctx: Section, refs: Refs) -> None:
    """The sites and facts that statements name resolve, as a rule's do."""
    for section in ("summary", "goals", "signs", "assessment", "self_care"):
        for i, e in enumerate(ctx.data.get(section, [])):
            for j, site in enumerate(e.get("sites", [])):
                _ref(ctx, site, "site", refs, (section, i, "sites", j))
            for j, fact in enumerate(e.get("facts", [])):
                _ref(ctx, fact, "fact", refs, (section, i, "facts", j))


def _ref(ctx: Section, ref: str, kind: str, refs: Refs, path: DataPath) -> None:
    if kind == "per-site fact" and ref in refs["fact"] and ref not in refs[kind]:
        ctx.report.error(path, f"'{ref}' is a yes/no fact; a site condition or for_each needs a per-site fact")
    elif ref not in refs[kind]:
        hint = suggest(ref, sorted(refs[kind]))
        ctx.report.error(path, f"unknown {kind.replace('_', '-')} '{ref}'{hint}")


def condition(ctx: Section, raw: Any, path: DataPath, refs: Refs) -> Condition:
    """Compile a checked condition; the schema has already fixed its shape."""
    if raw == "always":
        return Always()
    if isinstance(raw, str):
        _ref(ctx, raw, "fact", refs, path)
        return Fact(raw)
    if "all" in raw:
        return AllOf(tuple(condition(ctx, c, (*path, "all", j), refs) for j, c in enumerate(raw["all"])))
    if "any" in raw:
        return AnyOf(tuple(condition(ctx, c, (*path, "any", j), refs) for j, c in enumerate(raw["any"])))
    if "stage_at_least" in raw:
        return StageAtLeast(raw["stage_at_least"])
    if raw["site"] not in refs["site"]:
        hint = suggest(raw["site"], sorted(refs["site"]))
        ctx.report.error((*path, "site"), f"unknown site '{raw['site']}'{hint}: this condition could never be true")
    _ref(ctx, raw["in"], "per-site fact", refs, (*path, "in"))
    return SiteIn(raw["site"], raw["in"])


def _facts_named(c: Condition) -> set[str]:
    if isinstance(c, Fact):
        return {c.name}
    if isinstance(c, SiteIn):
        return {c.fact}
    if isinstance(c, (AllOf, AnyOf)):
        return {f for p in c.parts for f in _facts_named(p)}
    return set()


def coverage(ctx: Section, rules: tuple[Rule, ...]) -> None:
    """Catalogue entries no rule can reach: a technique that can only be safe, an option never offered."""
    named = {
        t for r in rules for t in (*r.effects.exclude, *r.effects.exclude_at_sites, *(m[0] for m in r.effects.modify))
    }
    named_positions = {p for r in rules for p in (*r.effects.positioning, *r.effects.avoid_positioning)}
    added = {s for r in rules for s in r.effects.self_care}
    for i, t in enumerate(ctx.data.get("techniques", [])):
        if t["id"] not in named:
            ctx.report.warn(
                ("techniques", i, "id"), f"technique '{t['id']}' is named by no rule: it can only ever be 'safe'"
            )
    for i, p in enumerate(ctx.data.get("positioning", [])):
        if p["id"] not in named_positions:
            ctx.report.warn(
                ("positioning", i, "id"), f"position '{p['id']}' is named by no rule: it can only ever be 'allowed'"
            )
    used = {f for r in rules for f in _facts_named(r.when)} | {r.for_each for r in rules if r.for_each}
    for i, f in enumerate(ctx.data.get("facts", [])):
        if f["id"] not in used:
            ctx.report.warn(("facts", i, "id"), f"fact '{f['id']}' is named by no rule: stating it changes no plan")
    for i, s in enumerate(ctx.data.get("self_care", [])):
        if not s.get("always", True) and s["id"] not in added:
            ctx.report.error(
                ("self_care", i, "id"), f"self-care point '{s['id']}' has 'always: false' but no rule adds it"
            )
