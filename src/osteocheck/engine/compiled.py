"""The rule base compiled into bit tables, for screening many profiles fast: the compact record only.

`evaluate` builds the whole explained plan (~0.4 ms). Screening needs only what the compact
record holds, and that splits in two:

- which rules fire. A condition reads only the stage and which facts (or fact-at-site pairs) are
  present, so each compiles to a few bit masks (positive conditions: a disjunction of conjunctions);
  a rule that works per site or yields to clearance then fires only where sites remain.
- what follows. The whole-body part (pressure cap, every technique's status, proceed, avoided
  positions) depends only on the set of rules that fire, a few hundred combinations on a real
  roster, so it is kept in a bounded table; the per-site part (caps, clearance sites) is computed
  for each row from the firing rules' sites.

Nothing is remembered per profile, so a roster of distinct clients costs what a repeating one does
and memory stays flat. tests/test_compiled.py checks this against `evaluate` on the whole lattice.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import NamedTuple

from osteocheck.engine.conditions import AllOf, Always, AnyOf, Fact, SiteIn, StageAtLeast
from osteocheck.engine.model import Condition, Knowledge, Profile, Rule
from osteocheck.vocabulary import STAGES

TABLE_LIMIT = 2048  # combinations kept at once (each table): ~1 KiB each, so memory stays flat


class Compact(NamedTuple):
    """What a screening record says (the compact record of the contract, in the knowledge's order)."""

    stage: str
    proceed: str
    clearance: bool  # some rule asks for physician clearance (of sites, or of treatment as a whole)
    clearance_sites: tuple[str, ...]
    max_pressure: int
    sites: tuple[tuple[str, int], ...]  # site, cap (0: not to be treated), for sites a rule restricts
    techniques: tuple[tuple[str, str], ...]  # id, status
    avoid_positions: tuple[str, ...]


class _Rule(NamedTuple):
    dnf: tuple[int, ...]  # holds when some mask's bits are all present
    sites: tuple[str, ...]
    for_each: str | None
    unless_cleared: bool
    site_pressure: int | None
    no_treatment: bool
    clearance: bool
    # Its whole-body effects as bits: techniques excluded and modified, positions avoided, and the rest.
    exclude: int
    modify: int
    avoid: int
    max_pressure: int | None
    postpone: bool


class _Holding(NamedTuple):
    """For one facts mask: the fixed-site rules that hold, combined once, and the rules whose sites vary."""

    excluded: int
    modified: int
    avoided: int
    cap: int
    postpone: bool
    clearance: bool
    clearance_sites: frozenset[str]
    untreated: frozenset[str]
    caps: dict[str, int]
    varying: tuple[_Rule, ...]  # per site (for_each) or yielding to clearance


class _Whole(NamedTuple):
    proceed: str
    max_pressure: int
    techniques: tuple[tuple[str, str], ...]
    avoid_positions: tuple[str, ...]


class CompiledRules:
    """Built once per knowledge; `screen(profile)` gives the same answer as the compact view of `evaluate`."""

    def __init__(self, knowledge: Knowledge) -> None:
        self._bits: dict[object, int] = {}
        self._site_ids = knowledge.site_ids
        self._order = {s: i for i, s in enumerate(self._site_ids)}
        self._thresholds = (knowledge.bone_density.normal_at_or_above, knowledge.bone_density.osteoporosis_at_or_below)
        self._techniques = {t.id: 1 << i for i, t in enumerate(knowledge.techniques)}
        self._positions = {p.id: 1 << i for i, p in enumerate(knowledge.positioning)}
        self._top = knowledge.top_pressure
        self._rules = tuple(self._rule(r) for r in knowledge.rules)
        self._knowledge = knowledge
        self._stage_bits = {s: self._stage_mask(s) for s in STAGES}
        self._holding: dict[int, _Holding] = {}
        # Most conditions are one conjunction: tested as (mask, rule) pairs in one pass.
        self._terms = tuple((m, i) for i, r in enumerate(self._rules) for m in r.dnf)
        self._whole: dict[tuple[int, int, int, int, int], _Whole] = {}

    # -- compiling -------------------------------------------------------------------------------

    def _bit(self, key: object) -> int:
        if key not in self._bits:
            self._bits[key] = 1 << len(self._bits)
        return self._bits[key]

    def _stage_mask(self, stage: str) -> int:
        """A stage sets the bit of every stage it is at least, so 'at least X' is one bit."""
        mask = 0
        for s in STAGES[: STAGES.index(stage) + 1]:
            mask |= self._bit(("stage", s))
        return mask

    def _dnf(self, condition: Condition) -> tuple[int, ...]:
        if isinstance(condition, Always):
            return (0,)
        if isinstance(condition, Fact):
            return (self._bit(("fact", condition.name)),)
        if isinstance(condition, SiteIn):
            return (self._bit(("site", condition.fact, condition.site)),)
        if isinstance(condition, StageAtLeast):
            return (self._bit(("stage", condition.stage)),)
        if isinstance(condition, AnyOf):
            return tuple(dict.fromkeys(m for p in condition.parts for m in self._dnf(p)))
        if isinstance(condition, AllOf):
            terms: tuple[int, ...] = (0,)
            for part in condition.parts:
                terms = tuple(dict.fromkeys(a | b for a in terms for b in self._dnf(part)))
            return terms
        raise TypeError(f"no compiled form for condition {condition!r}")  # a new condition type needs one

    def _rule(self, rule: Rule) -> _Rule:
        e = rule.effects
        exclude = sum(self._techniques[t] for t in set(e.exclude))
        modify = sum(self._techniques[t] for t in {t for t, _ in e.modify})
        avoid = sum(self._positions[p] for p in set(e.avoid_positioning))
        return _Rule(
            self._dnf(rule.when), rule.sites, rule.for_each, rule.unless_cleared, e.site_pressure, e.no_treatment,
            e.clearance, exclude, modify, avoid, e.max_pressure, e.postpone,
        )  # fmt: skip

    # -- screening -------------------------------------------------------------------------------

    def _facts(self, profile: Profile) -> tuple[str, int, dict[str, tuple[str, ...]]]:
        """The stage (as `evaluate` settles it), the present-facts mask, and the per-site facts.

        The stage restates `stage.implied` and `stage.stage_of` for valid profiles without their notes:
        calling them costs half again per profile (13 µs instead of 8.5); tests/test_compiled.py holds
        the two to the same answer on the whole lattice.
        """
        per_site = dict(profile.facts)
        fracture = "fracture_history" in per_site or "fresh_fractures" in per_site or profile.stage == "severe"
        stage = profile.stage
        if profile.t_score is not None:
            normal, osteoporosis = self._thresholds
            t = profile.t_score
            category = "osteopenia" if t >= normal else "osteoporosis" if t <= osteoporosis else "osteopenia"
            if t >= normal or stage is None:
                stage = category
        if stage is None:
            stage = "osteoporosis"
        if stage == "osteoporosis" and fracture:
            stage = "severe"
        bits = self._bits
        mask = self._stage_bits[stage]
        for fact, sites in per_site.items():
            mask |= bits.get(("fact", fact), 0)
            for site in sites:
                mask |= bits.get(("site", fact, site), 0)
        if fracture:
            mask |= bits.get(("fact", "fracture_history"), 0)
        return stage, mask, per_site

    def holding(self, mask: int) -> _Holding:
        found = self._holding.get(mask)
        if found is None:
            found = self._combine(mask)
            if len(self._holding) >= TABLE_LIMIT:
                self._holding.clear()  # bounded: a roster needs a few thousand at most
            self._holding[mask] = found
        return found

    def _combine(self, mask: int) -> _Holding:
        held = sorted({i for m, i in self._terms if m & mask == m})
        excluded = modified = avoided = 0
        cap, postpone, clearance = self._top, False, False
        clearance_sites: set[str] = set()
        untreated: set[str] = set()
        caps: dict[str, int] = {}
        varying = []
        for i in held:
            r = self._rules[i]
            if r.for_each is not None or r.unless_cleared:
                varying.append(r)
                continue
            excluded, modified, avoided = excluded | r.exclude, modified | r.modify, avoided | r.avoid
            if r.max_pressure is not None:
                cap = min(cap, r.max_pressure)
            postpone = postpone or r.postpone
            if r.clearance:
                clearance = True
                clearance_sites.update(r.sites)
            if r.no_treatment:
                untreated.update(r.sites)
            if r.site_pressure is not None:
                for s in r.sites:
                    caps[s] = min(caps.get(s, r.site_pressure), r.site_pressure)
        return _Holding(
            excluded, modified, avoided, cap, postpone, clearance, frozenset(clearance_sites), frozenset(untreated),
            caps, tuple(varying),
        )  # fmt: skip

    def screen(self, profile: Profile) -> Compact:
        stage, mask, per_site = self._facts(profile)
        h = self.holding(mask)
        excluded, modified, avoided, cap = h.excluded, h.modified, h.avoided, h.cap
        postpone, needs_clearance = h.postpone, h.clearance
        caps: dict[str, int] = h.caps
        untreated: AbstractSet[str] = h.untreated
        clearance: AbstractSet[str] = h.clearance_sites
        if h.varying:
            more_untreated, more_clearance = set(untreated), set(clearance)
            caps = dict(caps)
            cleared = profile.cleared
            for rule in h.varying:
                sites = rule.sites
                if rule.for_each is not None:
                    sites = per_site.get(rule.for_each, ())
                    if not sites:
                        continue
                if rule.unless_cleared:
                    if cleared:
                        sites = tuple(s for s in sites if s not in cleared)
                    if not sites:
                        continue
                # The rule fires at `sites`.
                excluded |= rule.exclude
                modified |= rule.modify
                avoided |= rule.avoid
                if rule.max_pressure is not None and rule.max_pressure < cap:
                    cap = rule.max_pressure
                postpone = postpone or rule.postpone
                if rule.clearance:
                    needs_clearance = True
                    more_clearance.update(sites)
                if rule.no_treatment:
                    more_untreated.update(sites)
                level = rule.site_pressure
                if level is not None:
                    for s in sites:
                        if level < caps.get(s, 99):
                            caps[s] = level
            untreated, clearance = more_untreated, more_clearance
        proceed = 2 if postpone else 1 if needs_clearance else 0
        key = (excluded, modified, avoided, cap, proceed)
        whole = self._whole.get(key)
        if whole is None:
            whole = self._whole_body(key)
        order = self._order
        restricted = sorted({*untreated, *caps}, key=order.__getitem__) if caps or untreated else ()
        site_caps = tuple((s, 0 if s in untreated else min(cap, caps[s])) for s in restricted)
        return Compact(
            stage, whole.proceed, needs_clearance, tuple(sorted(clearance, key=order.__getitem__)), cap, site_caps,
            whole.techniques, whole.avoid_positions,
        )  # fmt: skip

    def _whole_body(self, key: tuple[int, int, int, int, int]) -> _Whole:
        """Statuses and positions from the combined bits, as evaluate combines the rules' effects."""
        excluded, modified, avoided, cap, proceed = key
        k = self._knowledge
        statuses = tuple(
            (t.id, "excluded" if excluded >> i & 1 else "modify" if modified >> i & 1 or t.pressure > cap else "safe")
            for i, t in enumerate(k.techniques)
        )
        positions = tuple(p.id for i, p in enumerate(k.positioning) if avoided >> i & 1)
        whole = _Whole(("yes", "after_clearance", "postpone")[proceed], cap, statuses, positions)
        if len(self._whole) >= TABLE_LIMIT:
            self._whole.clear()
        self._whole[key] = whole
        return whole
