"""Safety properties over generated profiles (Hypothesis)."""

from __future__ import annotations

import datetime as dt
import os
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SHIPPED, mapped
from osteocheck import api
from osteocheck.client.profile import build
from osteocheck.engine.evaluate import evaluate
from osteocheck.engine.model import Knowledge, Plan, Profile, Status
from osteocheck.knowledge import loader as knowledge_module
from osteocheck.vocabulary import BOOL_FACTS, SITE_FACTS, STAGES

KB = knowledge_module.load(SHIPPED)
# `make mutation` lowers this: every mutant reruns the tests, and a few examples already kill most.
EXAMPLES = int(os.environ.get("OSTEOCHECK_PROPERTY_EXAMPLES", "150"))
SITES = KB.site_ids
site_sets = st.lists(st.sampled_from(SITES), max_size=3, unique=True)

profiles = st.fixed_dictionaries(
    {},
    optional={
        "stage": st.sampled_from(STAGES),
        **{fact: st.booleans() for fact in BOOL_FACTS},
        **{fact: site_sets for fact in SITE_FACTS},
        "cleared": site_sets,
    },
)


def plan_of(raw: dict[str, object]) -> Plan:
    return evaluate(build(raw, KB, usage=True), KB)


def at_least_as_strict(stricter: Plan, looser: Plan, kb: Knowledge) -> list[str]:
    """Every way `stricter` is looser than `looser` (empty when monotone)."""
    problems = []
    for a, b in zip(stricter.techniques, looser.techniques, strict=True):
        if a.status.rank < b.status.rank:
            problems.append(f"{a.technique.id}: {b.status.value} -> {a.status.value}")
    if stricter.max_pressure > looser.max_pressure:
        problems.append("overall pressure rose")
    for site in kb.site_ids:
        s, loose = stricter.site(site), looser.site(site)
        cap_s = s.max_pressure if s else stricter.max_pressure
        cap_l = loose.max_pressure if loose else looser.max_pressure
        if cap_s > cap_l:
            problems.append(f"{site} pressure rose")
    need_l = {(c.reason.rule, site) for c in looser.clearance_required for site in c.sites}
    need_s = {(c.reason.rule, site) for c in stricter.clearance_required for site in c.sites}
    if not need_l <= need_s:
        problems.append("clearance dropped")
    for a, b in zip(stricter.positions, looser.positions, strict=True):
        if a.status.rank < b.status.rank:
            problems.append(f"position {a.position.id}: {b.status.value} -> {a.status.value}")
    if not {r.id for r in looser.assessment} <= {r.id for r in stricter.assessment}:
        problems.append("assessment dropped")
    # a self-care point may move from given to withheld (more careful), never vanish or come back
    if not {r.id for r in (*looser.self_care, *looser.withheld)} <= {
        r.id for r in (*stricter.self_care, *stricter.withheld)
    }:
        problems.append("self_care dropped")
    if not {r.id for r in looser.withheld} <= {r.id for r in stricter.withheld}:
        problems.append("a withheld self-care point came back")
    for a, b in zip(stricter.techniques, looser.techniques, strict=True):
        if not set(b.avoid_sites) <= set(a.avoid_sites):
            problems.append(f"{a.technique.id}: an avoided site was dropped")
    order = ("yes", "after_clearance", "postpone")
    if order.index(stricter.proceed.value) < order.index(looser.proceed.value):
        problems.append("proceed became less restrictive")
    return problems


@settings(max_examples=EXAMPLES, deadline=None)
@given(profiles)
def test_every_technique_has_exactly_one_status_and_non_safe_has_sourced_reasons(raw: dict[str, object]) -> None:
    plan = plan_of(raw)
    assert [v.technique.id for v in plan.techniques] == list(KB.technique_ids)
    for v in plan.techniques:
        if v.status is not Status.SAFE:
            assert v.reasons and all(r.basis.source.quote and r.rule for r in v.reasons)
        if v.status is Status.MODIFY:
            assert v.modifications
    for s in plan.sites:
        assert s.reasons
    for c in plan.clearance_required:
        assert c.reason.basis.source.quote


@settings(max_examples=EXAMPLES, deadline=None)
@given(profiles, st.sampled_from([*BOOL_FACTS, *SITE_FACTS, "stage"]), st.sampled_from(SITES))
def test_adding_a_risk_factor_never_loosens(raw: dict[str, object], fact: str, site: str) -> None:
    more = dict(raw)
    if fact in BOOL_FACTS:
        more[fact] = True
    elif fact == "stage":
        order = list(STAGES)
        current = raw.get("stage", "osteoporosis")
        more["stage"] = order[min(order.index(str(current)) + 1, len(order) - 1)]
    else:
        more[fact] = sorted({*raw.get(fact, []), site})  # type: ignore[misc]
    assert at_least_as_strict(plan_of(more), plan_of(raw), KB) == []


@settings(max_examples=EXAMPLES, deadline=None)
@given(profiles, st.sampled_from(SITES))
def test_clearance_lifts_only_unless_cleared_rules_at_its_own_site(raw: dict[str, object], site: str) -> None:
    before = plan_of(raw)
    after = plan_of({**raw, "cleared": sorted({*raw.get("cleared", []), site})})  # type: ignore[misc]
    assert [v.status for v in after.techniques] == [v.status for v in before.techniques]
    assert after.max_pressure == before.max_pressure
    for other in KB.site_ids:
        b, a = before.site(other), after.site(other)
        if other != site:
            assert a == b
        elif b is not None:
            kept = {r.rule for r in b.reasons} - {r.rule for r in a.reasons} if a else {r.rule for r in b.reasons}
            lifted_rules = {r.id for r in KB.rules if r.unless_cleared}
            assert kept <= lifted_rules
    assert {(c.reason.rule, s) for c in after.clearance_required for s in c.sites} == {
        (c.reason.rule, s) for c in before.clearance_required for s in c.sites if s != site
    }


# A record of DXA readings and fractures, dated before the day it is judged at (2026-06-01).
JUDGED = dt.date(2026, 6, 1)
readings = st.lists(
    st.tuples(
        st.sampled_from(["t", "fracture"]), st.floats(-4.0, 1.0).map(lambda v: round(v, 1)), st.integers(0, 6000)
    ),
    max_size=4,
)


def record_of(found: list[tuple[str, float, int]]) -> dict[str, object]:
    entries = []
    for n, (kind, value, days) in enumerate(found):
        when = (JUDGED - dt.timedelta(days=days)).isoformat()
        if kind == "t":
            entries.append({"resourceType": "Observation", "id": f"o{n}", "status": "final", "effectiveDateTime": when,
                            "code": mapped("observations", t_score=True), "valueQuantity": {"value": value}})  # fmt: skip
        else:
            entries.append({"resourceType": "Condition", "id": f"c{n}", "onsetDateTime": when,
                            "code": mapped("conditions", kind="fracture", sites=["spine"])})  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in entries]}


@settings(max_examples=EXAMPLES, deadline=None)
@given(readings, st.integers(0, 4000), st.integers(0, 4000))
def test_a_later_session_never_loosens_the_plan_of_a_record(
    found: list[tuple[str, float, int]], a: int, b: int
) -> None:
    """A session further off can only leave a DXA reading less current, never a fracture less fresh."""
    record = record_of(found)
    sooner, later = (JUDGED + dt.timedelta(days=min(a, b)), JUDGED + dt.timedelta(days=max(a, b)))
    plans = [api.evaluate(bundle=record, knowledge=KB, as_of=JUDGED, session=day) for day in (None, sooner, later)]
    assert at_least_as_strict(plans[1], plans[0], KB) == [] and at_least_as_strict(plans[2], plans[1], KB) == []


# Resources that never make a plan milder, as clinics write them: the map's own codes (conditions that stage
# nothing, drugs, operations, T-scores in the osteoporosis range),
# a condition under a clinic's own code with a map display as its text (read by its words; any display,
# an osteopenia one too), a coded one whose text is another display (read by code and text), one under
# two codes; each of a drawn status and a date before JUDGED.
_CODES = api.code_map()


def _by_meaning(section: str, *, staged: bool = False) -> st.SearchStrategy[dict[str, object]]:
    """A section's entries (`staged`: those that stage the client too), each meaning as likely as any other,
    so that a record often holds the same thing twice, of two statuses. Made once: a strategy over
    thousands is slow to build."""
    groups: dict[tuple[object, ...], list[dict[str, object]]] = {}
    for e in _CODES.entries(section):
        if not e.get("prefix") and (staged or "stage" not in e):
            groups.setdefault((e.get("kind"), e.get("fact"), e.get("stage")), []).append(e)
    return st.one_of(*(st.sampled_from(group) for group in groups.values()))


_UNSTAGED, _DRUGS, _OPERATIONS = (_by_meaning(section) for section in ("conditions", "medications", "procedures"))
# as words, any display, half the time one whose words name a stage: a milder one in words alone does not count
_ANY_CONDITION = st.one_of(
    _by_meaning("conditions", staged=True),
    st.sampled_from([e for e in _CODES.entries("conditions") if re.search(r"osteop[eo]", str(e["display"]), re.I)]),
)
_MILDER = st.sampled_from(
    [e for e in _CODES.entries("conditions") if e.get("stage") == "osteopenia" and not e.get("prefix")]
)
_T_SCORES = st.sampled_from([e for e in _CODES.entries("observations") if e.get("t_score")])
_BODY_SITES = st.sampled_from([e for e in _CODES.entries("body_sites") if not e.get("prefix")])


def _coded(entry: dict[str, object], text: object = None) -> dict[str, object]:
    coding = {"system": _CODES.systems[str(entry["system"])], "code": entry["code"], "display": entry["display"]}
    return {"coding": [coding], **({"text": text} if text is not None else {})}


# what makes each kind of resource no longer count (a later copy of one the record holds)
_SETTLED = {
    "Condition": [{"clinicalStatus": {"coding": [{"code": code}]}} for code in ("resolved", "remission", "inactive")],
    "MedicationRequest": [{"status": status} for status in ("stopped", "completed", "cancelled")],
    "Procedure": [{"status": status} for status in ("not-done", "entered-in-error", "preparation")],
    "Observation": [{"status": status} for status in ("cancelled", "entered-in-error", "registered")],
}


@st.composite
def never_milder(draw: st.DrawFn) -> dict[str, object]:
    kind = draw(st.sampled_from(["coded", "words", "text", "two codes", "drug", "operation", "low T-score", "doubted"]))
    when = (JUDGED - dt.timedelta(days=draw(st.integers(-30, 400)))).isoformat()  # a mistyped year: later
    if kind == "low T-score":  # in the osteoporosis range, of any status: never milder than none
        return {"resourceType": "Observation", "status": draw(st.sampled_from(["final", "preliminary", "registered"])),
                "effectiveDateTime": when, "code": _coded(draw(_T_SCORES)),
                "valueQuantity": {"value": draw(st.integers(-45, -25)) / 10}}  # fmt: skip
    if kind == "doubted":  # a milder stage coded, not confirmed: never milder than the one assumed without it
        unsure = draw(st.sampled_from(["unconfirmed", "provisional", "differential"]))
        return {"resourceType": "Condition", "code": _coded(draw(_MILDER)),
                "verificationStatus": {"coding": [{"code": unsure}]}}  # fmt: skip
    if kind == "drug":
        return {"resourceType": "MedicationRequest", "intent": draw(st.sampled_from(["order", "proposal"])),
                "status": draw(st.sampled_from(["active", "stopped", "unknown", "on-hold"])),
                "medicationCodeableConcept": _coded(draw(_DRUGS))}  # fmt: skip
    if kind == "operation":
        dated = {"performedDateTime": when} if draw(st.booleans()) else {}
        return {"resourceType": "Procedure", "status": draw(st.sampled_from(["completed", "not-done", "in-progress"])),
                **dated, "code": _coded(draw(_OPERATIONS))}  # fmt: skip
    entry = draw(_UNSTAGED)
    words = draw(_ANY_CONDITION)["display"]
    code = {
        "coded": _coded(entry),
        "words": {"coding": [{"system": "https://clinic.example.org/codes", "code": "C"}], "text": words},
        "text": _coded(entry, words),
        "two codes": {"coding": [*_coded(entry)["coding"], *_coded(draw(_UNSTAGED))["coding"]]},
    }[kind]
    status = draw(st.sampled_from(["active", "recurrence", "resolved", "remission"]))
    places = draw(st.lists(_BODY_SITES, max_size=2))  # none: where the code says; two: codings that disagree
    placed = {"bodySite": [{"coding": [c for p in places for c in _coded(p)["coding"]]}]} if places else {}
    verified = draw(st.sampled_from([None, "confirmed", "unconfirmed", "provisional", "refuted"]))
    checked = {"verificationStatus": {"coding": [{"code": verified}]}} if verified else {}
    return {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": status}]}, "onsetDateTime": when,
            "code": code, **placed, **checked}  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(never_milder(), max_size=5), never_milder(), st.none() | st.integers(0, 4), st.integers(0, 2))
def test_one_more_resource_never_loosens_a_record_s_plan_unless_it_stages_it_milder(
    held: list[dict[str, object]], added: dict[str, object], twin: int | None, how: int
) -> None:
    """Whatever a record already holds, one more condition, drug or operation (coded, by its words, or
    both), or T-score in the osteoporosis range, never makes its plan milder: the reader only adds. (A
    milder stage coded, or T-score, may: a record that shows osteopenia is planned for osteopenia, not the
    osteoporosis assumed without it; in words alone, or not confirmed, it may not.) `twin`: the one added is, half the time,
    one the record holds, resolved, stopped, not done or withdrawn."""
    if twin is not None and held:
        added = held[twin % len(held)]
        added = {**added, **_SETTLED[str(added["resourceType"])][how]}

    def plan(resources: list[dict[str, object]]) -> Plan:
        entries = [{"resource": {**r, "id": f"r{n}"}} for n, r in enumerate(resources)]
        return api.evaluate(bundle={"resourceType": "Bundle", "type": "collection", "entry": entries}, knowledge=KB,
                            as_of=JUDGED)  # fmt: skip

    assert at_least_as_strict(plan([*held, added]), plan(held), KB) == []


def test_profile_is_frozen() -> None:
    p = Profile()
    try:
        p.kyphosis = True  # type: ignore[misc]
    except AttributeError:
        return
    raise AssertionError("Profile must be frozen")
