"""Exhaustive properties: the whole lattice of boolean risk factors x stages x representative sites.

Every plan is total and explained; every edge (one more risk factor) is monotone;
clearance of each site lifts only that site's `unless_cleared` rules.
"""

from __future__ import annotations

import itertools
from functools import cache

import pytest

from conftest import SHIPPED
from osteocheck.batch.rows import compact, compact_of
from osteocheck.engine.compiled import CompiledRules
from osteocheck.engine.evaluate import evaluate
from osteocheck.engine.model import Knowledge, Plan, Proceed, Profile, Status
from osteocheck.knowledge import loader as knowledge_module
from osteocheck.vocabulary import BOOL_FACTS, SITE_FACTS

KB = knowledge_module.load(SHIPPED)
RULES = {r.id: r for r in KB.rules}
PROCEED_RANK = {Proceed.YES: 0, Proceed.AFTER_CLEARANCE: 1, Proceed.POSTPONE: 2}
STAGE_CHOICES = (None, "osteopenia", "osteoporosis", "severe")
SITE_SETS = ((), ("wrists",), ("spine", "legs"), ("hips",))
UNLESS_CLEARED = {r.id for r in KB.rules if r.unless_cleared}

Key = tuple[object, ...]


def profile_of(key: Key) -> Profile:
    stage, bools, sites = key
    assert isinstance(bools, frozenset) and isinstance(sites, tuple)
    return Profile.make(stage=stage, **{f: f in bools for f in BOOL_FACTS}, **dict(zip(SITE_FACTS, sites, strict=True)))  # type: ignore[arg-type]


@cache
def summary(key: Key) -> tuple[object, ...]:
    plan = evaluate(profile_of(key), KB)
    check_total(plan)
    caps = tuple((s.site, s.max_pressure) for s in plan.sites)
    site_cap = dict(caps)
    return (
        tuple(v.status.rank for v in plan.techniques),
        plan.max_pressure,
        tuple(site_cap.get(site, plan.max_pressure) for site in KB.site_ids),
        frozenset((c.reason.rule, s) for c in plan.clearance_required for s in c.sites),
        frozenset((p.position.id, p.status.rank) for p in plan.positions),
        frozenset(a.id for a in plan.assessment),
        frozenset(s.id for s in (*plan.self_care, *plan.withheld)),
        frozenset((v.technique.id, site) for v in plan.techniques for site in v.avoid_sites),
        PROCEED_RANK[plan.proceed],
        frozenset(s.id for s in plan.withheld),
        compact(plan, KB),  # the batch record, for tests/test_compiled.py (one evaluation of the lattice for both)
    )


def check_total(plan: Plan) -> None:
    assert [v.technique.id for v in plan.techniques] == list(KB.technique_ids)
    for v in plan.techniques:
        if v.status is not Status.SAFE:
            assert v.reasons and all(r.basis.source.quote for r in v.reasons)
        if v.status is Status.MODIFY:
            assert v.modifications
    for s in plan.sites:
        assert s.reasons and 0 <= s.max_pressure <= plan.max_pressure
        assert (s.max_pressure == 0) == s.no_treatment
        # the rules said to govern a site each say what the plan says there (cards and issues cite them one by one)
        assert s.governing and set(s.governing) <= {*s.reasons, *plan.max_pressure_reasons}, s
        for r in s.governing:
            effects = RULES[r.rule].effects
            if s.no_treatment:
                assert effects.no_treatment, (s.site, r.rule)
            else:
                assert s.max_pressure in (effects.site_pressure, effects.max_pressure), (s.site, r.rule)
    for c in plan.clearance_required:
        assert c.reason.basis.source.quote and c.sites
    # Site-aware: a technique is kept from every site not to be treated or capped below its pressure,
    # and from no other site unless a rule excludes it there.
    for v in plan.techniques:
        must = {s.site for s in plan.sites if s.no_treatment or s.max_pressure < v.technique.pressure}
        assert set(v.avoid_sites) >= must, v.technique.id
        for site, reasons in v.avoid_reasons:
            if site not in must:
                assert any(v.technique.id in RULES[r.rule].effects.exclude_at_sites for r in reasons), (v, site)
            # each reason given keeps it off there: not a rule the site's stricter restriction overrules
            here = plan.site(site)
            for r in reasons:
                effects = RULES[r.rule].effects
                assert v.technique.id in effects.exclude_at_sites or (here is not None and r in here.governing), (
                    v.technique.id,
                    site,
                    r.rule,
                )
    # proceed: postpone exactly when a rule postpones, else after clearance exactly when clearance is needed
    assert (plan.proceed is Proceed.POSTPONE) == bool(plan.postponed)
    if not plan.postponed:
        assert (plan.proceed is Proceed.AFTER_CLEARANCE) == bool(plan.clearance_required)
    # a self-care point is given or withheld, never both; no self-care sends the client where the plan forbids
    assert not {s.id for s in plan.self_care} & {s.id for s in plan.withheld}


def looser(a: tuple[object, ...], b: tuple[object, ...]) -> list[str]:
    """How plan `a` (more risk factors) is looser than plan `b` (fewer)."""
    out = []
    if any(x < y for x, y in zip(a[0], b[0], strict=True)):  # type: ignore[call-overload]
        out.append("a technique got a less restrictive status")
    if a[1] > b[1]:  # type: ignore[operator]
        out.append("overall pressure rose")
    if any(x > y for x, y in zip(a[2], b[2], strict=True)):  # type: ignore[call-overload]
        out.append("a site's pressure rose")
    out += [
        name
        for name, i in (("clearance", 3), ("assessment", 5), ("self-care", 6), ("avoided sites", 7), ("withheld", 9))
        if not b[i] <= a[i]
    ]  # type: ignore[operator]
    ranks_a, ranks_b = dict(a[4]), dict(b[4])  # type: ignore[call-overload]
    if any(ranks_a[p] < rank for p, rank in ranks_b.items()):
        out.append("a position became less restrictive (avoid > recommended > allowed)")
    if a[8] < b[8]:  # type: ignore[operator]
        out.append("proceed became less restrictive")
    return out


# Representative site sets: none, and each site fact alone (its rules never interact with another's).
SITE_COMBOS = [tuple(() for _ in SITE_FACTS)] + [
    tuple(("wrists",) if i == j else () for i in range(len(SITE_FACTS))) for j in range(len(SITE_FACTS))
]
KEYS = [
    (stage, frozenset(bools), combo)
    for stage in STAGE_CHOICES
    for n in range(len(BOOL_FACTS) + 1)
    for bools in itertools.combinations(BOOL_FACTS, n)
    for combo in SITE_COMBOS
]


def test_lattice_size() -> None:
    assert len(KEYS) == 4 * 2 ** len(BOOL_FACTS) * (1 + len(SITE_FACTS))


@pytest.mark.no_cover  # thousands of plans: what they run is covered elsewhere, tracing them costs a minute
def test_every_edge_of_the_lattice_is_monotone() -> None:
    rank = {s: i for i, s in enumerate(("osteopenia", "osteoporosis", "severe"))}
    edges = 0
    for key in KEYS:
        stage, bools, sites = key
        assert isinstance(bools, frozenset) and isinstance(sites, tuple)
        base = summary(key)
        neighbours = [(stage, bools | {f}, sites) for f in BOOL_FACTS if f not in bools]
        if not any(sites):
            neighbours += [(stage, bools, combo) for combo in SITE_COMBOS[1:]]
        if stage is not None and rank[stage] < 2:
            neighbours.append((("osteopenia", "osteoporosis", "severe")[rank[stage] + 1], bools, sites))
        for other in neighbours:
            edges += 1
            assert looser(summary(other), base) == [], (key, other)
    assert edges > 10_000


@pytest.mark.no_cover  # thousands of plans: what they run is covered elsewhere, tracing them costs a minute
def test_more_sites_under_a_fact_never_loosen() -> None:
    for fact_index, bools in itertools.product(range(len(SITE_FACTS)), (frozenset(), frozenset(BOOL_FACTS))):
        previous = None
        for site_set in SITE_SETS:
            sites = tuple(site_set if i == fact_index else () for i in range(len(SITE_FACTS)))
            current = summary(("osteoporosis", bools, sites))
            if previous is not None and set(SITE_SETS[SITE_SETS.index(site_set) - 1]) <= set(site_set):
                assert looser(current, previous) == []
            previous = current


@pytest.mark.no_cover  # thousands of plans: what they run is covered elsewhere, tracing them costs a minute
def test_the_compiled_rules_say_what_the_evaluation_says_on_the_whole_lattice() -> None:
    """Batch's fast path (tests/test_compiled.py), here so the lattice is evaluated once for both tests:
    a file's tests run in one process (`--dist loadfile`)."""
    fast = CompiledRules(KB)
    for key in KEYS:
        assert compact_of(fast.screen(profile_of(key))) == summary(key)[-1], key
    # Clearing the site the lattice names (and one it does not) changes only the unless-cleared rules.
    agree([profile_of(key)._replace(cleared=("wrists", "spine")) for key in KEYS[::13]])


def agree(profiles: list[Profile], knowledge: Knowledge = KB) -> None:
    """Batch's compiled rules screen each profile as the full evaluation plans it (tests/test_compiled.py too)."""
    fast = CompiledRules(knowledge)
    for p in profiles:
        assert compact_of(fast.screen(p)) == compact(evaluate(p, knowledge), knowledge), p


def test_clearance_lifts_only_its_own_sites_unless_cleared_rules() -> None:
    for fact in SITE_FACTS:
        for site in KB.site_ids:
            for bools in (frozenset(), frozenset({"fracture_history", "kyphosis"})):
                base = Profile.make(stage=None, **{f: f in bools for f in BOOL_FACTS}, **{fact: (site,)})  # type: ignore[arg-type]
                before = evaluate(base, KB)
                after = evaluate(base._replace(cleared=(site,)), KB)
                assert [v.status for v in after.techniques] == [v.status for v in before.techniques]
                assert after.max_pressure == before.max_pressure
                assert after.clearance_required == ()
                assert {x.site for x in after.lifted} == {site}
                for s in KB.site_ids:
                    b, a = before.site(s), after.site(s)
                    if s != site:
                        assert a == b
                    else:
                        assert b is not None and b.no_treatment
                        removed = {r.rule for r in b.reasons} - ({r.rule for r in a.reasons} if a else set())
                        assert removed <= UNLESS_CLEARED
                        # only a rule clearance cannot lift keeps the site untreated (a clot: never over it)
                        kept = a is not None and a.no_treatment
                        assert bool(removed) or kept
                        if kept:
                            assert a is not None
                            assert all(not RULES[r.rule].unless_cleared for r in a.reasons)
                # clearing another site changes nothing
                other = next(x for x in KB.site_ids if x != site)
                unrelated = evaluate(base._replace(cleared=(other,)), KB)
                assert unrelated._replace(assumptions=(), profile=base) == before._replace(assumptions=())
