"""The rules engine: `evaluate(profile, knowledge) -> Plan`, pure and deterministic.

Combination: the most restrictive verdict wins (excluded > modify > safe), the
lowest pressure cap wins, untreatable sites are the union, and physician
clearance of a site lifts only the `unless_cleared` rules at that site.
Output follows knowledge-file order. No I/O; imports nothing outside the model.
"""

from collections.abc import Callable, Iterable
from typing import NamedTuple

from osteocheck.engine.model import (
    Clearance,
    Facts,
    Item,
    Knowledge,
    Lifted,
    Plan,
    PositionStatus,
    PositionVerdict,
    Proceed,
    Profile,
    Reason,
    Recommended,
    Rule,
    SitePlan,
    Status,
    Technique,
    Verdict,
)
from osteocheck.engine.stage import implied, stage_of


class Firing(NamedTuple):
    """A rule that applies to this client, at these sites (empty: the whole body)."""

    rule: Rule
    sites: tuple[str, ...]
    reason: Reason


def fire(profile: Profile, knowledge: Knowledge, stage: str) -> tuple[tuple[Firing, ...], tuple[Lifted, ...]]:
    """The rules that apply, in file order, and the ones clearance lifted."""
    facts = Facts(profile, stage)
    firings: list[Firing] = []
    lifted: list[Lifted] = []
    for rule in knowledge.rules:
        if not rule.when.holds(facts):
            continue
        triggers = rule.when.triggers(facts)
        sites = rule.sites
        if rule.for_each is not None:
            sites = profile.sites_of(rule.for_each)
            if not sites:
                continue
            triggers = (*[t for t in triggers if not t.startswith("stage:")], f"{rule.for_each}: {', '.join(sites)}")
        reason = Reason(rule.id, rule.text, rule.severity, rule.basis, triggers)
        if rule.unless_cleared:
            lifted.extend(Lifted(reason, s) for s in sites if s in profile.cleared)
            sites = tuple(s for s in sites if s not in profile.cleared)
            if not sites:
                continue
        firings.append(Firing(rule, sites, reason))
    return tuple(firings), tuple(lifted)


def evaluate(profile: Profile, knowledge: Knowledge) -> Plan:
    effective, implications = implied(profile)
    stage, assumptions = stage_of(effective, knowledge)
    firings, lifted = fire(effective, knowledge, stage)
    notes = [*implications, *assumptions]
    restricted = {s for f in firings if f.rule.unless_cleared for s in f.sites} | {x.site for x in lifted}
    for site in profile.cleared:
        if site not in restricted:
            notes.append(f"Cleared site '{site}' had no restriction that clearance lifts; nothing changed there.")

    cap, cap_reasons = _overall_cap(firings, knowledge)
    sites = _sites(firings, knowledge, cap, cap_reasons)
    clearances = tuple(Clearance(f.reason, f.sites) for f in firings if f.rule.effects.clearance)
    positions = _positions(firings, knowledge)
    postponed = tuple(f.reason for f in firings if f.rule.effects.postpone)
    withheld_ids = {i for f in firings for i in f.rule.effects.withhold_self_care}
    self_care = _pressing_first(knowledge.self_care, firings, "self_care", sites)
    proceed = Proceed.POSTPONE if postponed else Proceed.AFTER_CLEARANCE if clearances else Proceed.YES
    return Plan(
        profile=profile,
        stage=stage,
        assumptions=tuple(notes),
        clearance_required=clearances,
        max_pressure=cap,
        max_pressure_label=knowledge.pressure_label(cap),
        max_pressure_reasons=cap_reasons,
        sites=sites,
        techniques=_verdicts(firings, knowledge, cap, cap_reasons, sites),
        positioning=tuple(
            Recommended(p.position.id, p.position.name, p.position.basis, p.reasons)
            for p in positions
            if p.status is PositionStatus.RECOMMENDED
        ),
        positions=positions,
        assessment=_pressing_first(knowledge.assessment, firings, "assessment", sites),
        self_care=tuple(r for r in self_care if r.id not in withheld_ids),
        withheld=_withheld(knowledge, firings, withheld_ids),
        lifted=lifted,
        proceed=proceed,
        postponed=postponed,
    )


def _withheld(knowledge: Knowledge, firings: tuple[Firing, ...], ids: set[str]) -> tuple[Recommended, ...]:
    """Self-care points a rule keeps from this client, with its reasons, in file order."""
    return tuple(
        Recommended(
            item.id,
            item.text,
            item.basis,
            tuple(f.reason for f in firings if item.id in f.rule.effects.withhold_self_care),
        )
        for item in knowledge.self_care
        if item.id in ids
    )


def _overall_cap(firings: tuple[Firing, ...], knowledge: Knowledge) -> tuple[int, tuple[Reason, ...]]:
    caps = [(f.rule.effects.max_pressure, f.reason) for f in firings if f.rule.effects.max_pressure is not None]
    if not caps:
        return knowledge.top_pressure, ()
    level = min(c for c, _ in caps)
    return level, tuple(r for c, r in caps if c == level)


def _naming(firings: tuple[Firing, ...], names: Callable[[Firing], Iterable[str]]) -> dict[str, list[Firing]]:
    """Per id, the firings that name it, in their order, each once (a rule naming an id twice counts once);
    the ids in the order they were first named. One pass over the firings, not one per id."""
    out: dict[str, list[Firing]] = {}
    for f in firings:
        for name in names(f):
            listed = out.setdefault(name, [])
            if not listed or listed[-1] is not f:
                listed.append(f)
    return out


def _reasons(firings: list[Firing] | None) -> tuple[Reason, ...]:
    return tuple([f.reason for f in firings]) if firings else ()


def _sites(
    firings: tuple[Firing, ...], knowledge: Knowledge, cap: int, cap_reasons: tuple[Reason, ...]
) -> tuple[SitePlan, ...]:
    by_site = _naming(firings, lambda f: f.sites if f.rule.effects.site_pressure or f.rule.effects.no_treatment else ())
    plans = []
    for site in knowledge.site_ids:
        here = by_site.get(site)
        if not here:
            continue
        no_treatment = any(f.rule.effects.no_treatment for f in here)
        levels = [f.rule.effects.site_pressure for f in here if f.rule.effects.site_pressure is not None]
        level = 0 if no_treatment else min([cap, *levels])
        if no_treatment:
            governing = _reasons([f for f in here if f.rule.effects.no_treatment])
        else:  # the site's own rules at its level; else the overall cap, when that is the lower
            governing = _reasons([f for f in here if f.rule.effects.site_pressure == level]) or cap_reasons
        plans.append(SitePlan(site, level, no_treatment, _reasons(here), governing))
    return tuple(plans)


def _verdicts(
    firings: tuple[Firing, ...],
    knowledge: Knowledge,
    cap: int,
    cap_reasons: tuple[Reason, ...],
    sites: tuple[SitePlan, ...],
) -> tuple[Verdict, ...]:
    verdicts = []
    # One pass over the firings, in their order, for what each names per technique: exclusions,
    # modifications, and the sites some rules keep it off (usually none).
    off_at: dict[str, list[tuple[str, Reason]]] = {}
    excluded_by = _naming(firings, lambda f: f.rule.effects.exclude)
    modified_by: dict[str, list[tuple[Reason, str]]] = {}
    for f in firings:
        effects = f.rule.effects
        for technique_id in effects.exclude_at_sites:
            off_at.setdefault(technique_id, []).extend((site, f.reason) for site in f.sites)
        for technique_id, text in effects.modify:
            modified_by.setdefault(technique_id, []).append((f.reason, text))
    order = knowledge.site_ids
    # Without sites of its own, where a technique must not go follows from its pressure alone.
    by_pressure: dict[int, tuple[tuple[str, tuple[Reason, ...]], ...]] = {}
    for t in knowledge.techniques:
        if t.id in off_at:
            avoid = _avoid(t, sites, off_at[t.id], order)
        else:
            if t.pressure not in by_pressure:
                by_pressure[t.pressure] = _avoid(t, sites, (), order)
            avoid = by_pressure[t.pressure]
        excluded = _reasons(excluded_by.get(t.id))
        if excluded:
            verdicts.append(Verdict(t, Status.EXCLUDED, excluded, avoid))
            continue
        mods = list(modified_by.get(t.id, ()))
        if t.pressure > cap:
            label = knowledge.pressure_label(cap)
            mods.extend((r, f"Keep to pressure level {cap} ({label}) or lighter.") for r in cap_reasons)
        if mods:
            reasons = tuple(dict.fromkeys(r for r, _ in mods))
            verdicts.append(Verdict(t, Status.MODIFY, reasons, avoid, tuple(dict.fromkeys(mods))))
        else:
            verdicts.append(Verdict(t, Status.SAFE, (), avoid))
    return tuple(verdicts)


def _positions(firings: tuple[Firing, ...], knowledge: Knowledge) -> tuple[PositionVerdict, ...]:
    """Avoid if any rule says so; recommended if some rule recommends it and none avoids it; else allowed."""
    avoided = _naming(firings, lambda f: f.rule.effects.avoid_positioning)
    recommending = _naming(firings, lambda f: f.rule.effects.positioning)
    out = []
    for p in knowledge.positioning:
        avoid = _reasons(avoided.get(p.id))
        recommended = _reasons(recommending.get(p.id))
        if avoid:
            out.append(PositionVerdict(p, PositionStatus.AVOID, avoid))
        elif recommended:
            out.append(PositionVerdict(p, PositionStatus.RECOMMENDED, recommended))
        else:
            out.append(PositionVerdict(p, PositionStatus.ALLOWED, ()))
    return tuple(out)


def _avoid(
    t: Technique, sites: tuple[SitePlan, ...], off_at: Iterable[tuple[str, Reason]], order: tuple[str, ...]
) -> tuple[tuple[str, tuple[Reason, ...]], ...]:
    """The sites a technique must not be used at, in vocabulary order, each with its reasons: the rules that
    keep the site untreated or at its cap, not those they override there."""
    why: dict[str, list[Reason]] = {}
    for s in sites:
        if s.no_treatment or s.max_pressure < t.pressure:
            why.setdefault(s.site, []).extend(s.governing)
    for site, reason in off_at:
        why.setdefault(site, []).append(reason)
    if not why:
        return ()
    return tuple((site, tuple(dict.fromkeys(why[site]))) for site in order if site in why)


def _pressing_first(
    items: tuple[Item, ...], firings: tuple[Firing, ...], effect: str, sites: tuple[SitePlan, ...]
) -> tuple[Recommended, ...]:
    """Every standing item plus the ones rules add. Pressing ones come first, in the order the
    firing rules name them (so an author can say which matters most); the rest in file order."""
    untreatable = {s.site for s in sites if s.no_treatment}
    why = _naming(firings, lambda f: getattr(f.rule.effects, effect))
    named = {item_id: rank for rank, item_id in enumerate(why)}  # the order the firing rules name them
    out = []
    for item in items:
        reasons = _reasons(why.get(item.id))
        if item.always or reasons:
            avoid = tuple(s for s in item.sites if s in untreatable)
            out.append(Recommended(item.id, item.text, item.basis, reasons, avoid))
    return tuple(sorted(out, key=lambda r: named.get(r.id, len(named))))
