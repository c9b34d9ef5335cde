"""The plan in short, for the ten-second read: what the terminal and Markdown views show by default.

Plain strings in the order a therapist needs them (go ahead? clear what? where not to touch? which
techniques? how to lie?), in the knowledge's own words and without rule ids; the reasons, rules and
sources stay in the full plan (`--details`, `explain`, JSON). Every site restriction is still listed
with the technique it restricts.
"""

from __future__ import annotations

from typing import NamedTuple

from osteocheck.engine.model import Knowledge, Plan, PositionStatus, Proceed, Reason, Status, Verdict
from osteocheck.render.phrases import other_knowledge

WHOLE = "treatment as a whole"


class Row(NamedTuple):
    """A label and what it says, e.g. ("spine", "fracture that has not healed")."""

    label: str
    text: str


class TechniqueLine(NamedTuple):
    name: str
    how: str  # the modifications, each once
    not_over: str  # "ribs, spine (not to be treated); wrists (capped at level 1)", or ""


class Glance(NamedTuple):
    proceed: Proceed
    stage: str
    postpone: tuple[str, ...]  # what puts the session off, in short
    postpone_head: str  # "Postpone today", or how a later session is put off by what the record says today
    clear: tuple[Row, ...]  # where the physician must clear first, in body order, with what is there
    notes: tuple[Row, ...]  # assumed, cleared by physician
    body: tuple[Row, ...]  # pressure label -> sites, most restrictive first, ending with everywhere else
    untreated: tuple[str, ...]  # no technique goes there, so the technique lines need not repeat them
    excluded: tuple[str, ...]
    modify: tuple[TechniqueLine, ...]
    safe: tuple[TechniqueLine, ...]
    positions: tuple[Row, ...]  # recommended / avoid / allowed -> names
    assessment: tuple[int, int]  # steps, pressing
    self_care: tuple[int, int, int]  # points, pressing, withheld


def fact_words(fact: str, knowledge: Knowledge) -> str:
    """'dvt: legs' in the knowledge's words: 'known or suspected deep-vein thrombosis (clot): legs'."""
    fact_id, _, sites = fact.partition(": ")
    decl = knowledge.fact(fact_id)
    if decl is None:
        return fact
    words = decl.short
    return f"{words}: {sites}" if sites else words


def facts_in_words(reason: Reason, knowledge: Knowledge, *, with_sites: bool) -> str:
    facts = reason.facts if with_sites else tuple(f.partition(": ")[0] for f in reason.facts)
    words = [fact_words(f, knowledge) for f in dict.fromkeys(facts)]
    return "; ".join(words) or reason.text


def clearance_rows(plan: Plan, knowledge: Knowledge) -> tuple[Row, ...]:
    """Per site (or treatment as a whole), what the physician must clear there."""
    by_site: dict[str, list[str]] = {}
    for c in plan.clearance_required:
        what = facts_in_words(c.reason, knowledge, with_sites=False)
        for site in c.sites or (WHOLE,):
            by_site.setdefault(site, [])
            if what not in by_site[site]:
                by_site[site].append(what)
    order = {s: i for i, s in enumerate(knowledge.site_ids)}
    sites = sorted(by_site, key=lambda s: order.get(s, -1))
    return tuple(Row(s, "; ".join(by_site[s])) for s in sites)


def body_rows(plan: Plan, knowledge: Knowledge) -> tuple[Row, ...]:
    """Sites by pressure cap; where a cap keeps techniques off a site, the ones still usable there."""
    groups: dict[tuple[int, tuple[str, ...]], list[str]] = {}
    allowed = [v for v in plan.techniques if v.status is not Status.EXCLUDED]
    # once per technique, not per site; only when some site may be treated at all
    treated = any(not s.no_treatment for s in plan.sites)
    kept_off = [(v.technique.name, set(v.avoid_sites)) for v in allowed] if treated else []
    for s in plan.sites:
        level = 0 if s.no_treatment else s.max_pressure
        usable = () if level == 0 else tuple(name for name, off in kept_off if s.site not in off)
        groups.setdefault((level, usable), []).append(s.site)
    rows = []
    for (level, usable), sites in sorted(groups.items(), key=lambda g: g[0][0]):
        capped = level and any(v.technique.pressure > level for v in allowed)
        only = f": only {', '.join(usable)}" if capped and usable else ": nothing" if capped else ""
        rows.append(Row(_level(level, knowledge), ", ".join(sites) + only))
    rest = "everywhere else" if plan.sites else "everywhere"
    return (*rows, Row(_level(plan.max_pressure, knowledge), rest))


def _level(level: int, knowledge: Knowledge) -> str:
    return "DO NOT TREAT" if level == 0 else f"{level} {knowledge.pressure_label(level)}"


def _not_over(v: Verdict, plan: Plan, untreated: tuple[str, ...]) -> str:
    """Sites this technique keeps off beyond the untreated ones, which the plan names once for all techniques
    (all of them when there is nothing else to say about it). Why, is in the pressure lines and --details."""
    own = tuple(s for s in v.avoid_sites if s not in untreated)
    # A safe technique names every site it keeps off: "safe" is where a reader would otherwise relax.
    whole = v.status is Status.SAFE or (not v.modifications and not own)
    return ", ".join(v.avoid_sites if whole else own)


def _line(v: Verdict, plan: Plan, untreated: tuple[str, ...]) -> TechniqueLine:
    how = " ".join(dict.fromkeys(v.modifications)) if v.status is Status.MODIFY else ""
    return TechniqueLine(v.technique.name, how, _not_over(v, plan, untreated))


def short_name(name: str) -> str:
    """'Lying face up (supine), head and knees supported' -> 'Lying face up (supine)'."""
    return name.split(", ", 1)[0]


def postponed_words(plan: Plan, knowledge: Knowledge) -> tuple[str, ...]:
    """Why the session is not for today, once each, in the knowledge's words."""
    return tuple(dict.fromkeys(facts_in_words(r, knowledge, with_sites=True) for r in plan.postponed))


def postponing_later(plan: Plan, *, booked: bool = False) -> str | None:
    """How to put off a session that is not today's (planned for a later day, or `booked`): the reasons to
    postpone are what the record says today. None for today's session."""
    if plan.session is not None:
        return f"As the record stands today, postpone the session of {plan.session}"
    return "As the record stands today, postpone the booked massage" if booked else None


def glance(plan: Plan, knowledge: Knowledge) -> Glance:
    clear = clearance_rows(plan, knowledge)
    untreated = tuple(s.site for s in plan.sites if s.no_treatment)
    other = other_knowledge(knowledge)
    notes = [Row("knowledge", other)] if other else []
    notes += [Row("assumed", a) for a in plan.assumptions]
    lifted: dict[str, None] = dict.fromkeys(x.site for x in plan.lifted)
    if lifted:
        notes.append(Row("cleared by physician", ", ".join(lifted)))
    positions: list[Row] = []
    for status in (PositionStatus.RECOMMENDED, PositionStatus.AVOID, PositionStatus.ALLOWED):
        names = [short_name(p.position.name) for p in plan.positions if p.status is status]
        if names:
            # Once some are recommended or avoided, the rest need no list of their own.
            positions.append(
                Row(status.value, "the others" if positions and status is PositionStatus.ALLOWED else "; ".join(names))
            )
    return Glance(
        proceed=plan.proceed,
        stage=plan.stage,
        postpone=postponed_words(plan, knowledge),
        postpone_head=postponing_later(plan) or "Postpone today",
        clear=clear,
        notes=tuple(notes),
        body=body_rows(plan, knowledge),
        untreated=untreated,
        excluded=tuple(v.technique.name for v in plan.techniques if v.status is Status.EXCLUDED),
        modify=tuple(_line(v, plan, untreated) for v in plan.techniques if v.status is Status.MODIFY),
        safe=tuple(_line(v, plan, untreated) for v in plan.techniques if v.status is Status.SAFE),
        positions=tuple(positions),
        assessment=(len(plan.assessment), sum(s.pressing for s in plan.assessment)),
        self_care=(len(plan.self_care), sum(s.pressing for s in plan.self_care), len(plan.withheld)),
    )


def safe_groups(lines: tuple[TechniqueLine, ...]) -> list[tuple[str, list[str]]]:
    """Safe techniques on one line each kept-off list: those usable everywhere first."""
    groups: dict[str, list[str]] = {}
    for line in lines:
        groups.setdefault(line.not_over, []).append(line.name)
    return sorted(groups.items(), key=lambda g: g[0] != "")
