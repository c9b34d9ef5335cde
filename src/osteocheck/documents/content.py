"""The documents a therapist hands over, as one content model rendered to Markdown, HTML and PDF.

Built from the plan alone, so a sheet can never say something the plan for the
same profile does not. Pure: no I/O, no templates, no third-party imports.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from osteocheck.engine.model import Clearance, Knowledge, Plan, PositionStatus, Reason, Recommended, Status, Verdict
from osteocheck.render.phrases import FOR_THE_CLIENT, PROCEED, not_over
from osteocheck.words import with_article


class Entry(NamedTuple):
    """One point: its text, an optional line on why it matters, and whether it is ticked off on paper."""

    text: str
    why: str = ""
    check: bool = False
    notes: bool = False
    cite: str = ""


class Section(NamedTuple):
    heading: str
    entries: tuple[Entry, ...] = ()


class Document(NamedTuple):
    kind: str
    title: str
    meta: tuple[tuple[str, str], ...]
    intro: tuple[str, ...]
    sections: tuple[Section, ...]
    sources: tuple[str, ...]
    closing: str
    reply: tuple[str, ...] = ()  # labelled lines for the recipient to fill in, after the closing


class People(NamedTuple):
    client: str | None = None
    therapist: str | None = None
    physician: str | None = None
    date: dt.date | None = None
    clinic: str | None = None


def _meta(
    plan: Plan, people: People, *, with_physician: bool = False, for_client: bool = False
) -> tuple[tuple[str, str], ...]:
    session = f"proceed {PROCEED[plan.proceed]}"
    rows = [("Your massage", FOR_THE_CLIENT[plan.proceed]) if for_client else ("Session", session)]
    client = people.client or plan.profile.name
    if client:
        rows.append(("Client", client))
    if with_physician:
        rows.append(("To", people.physician or "the client's physician"))
    if people.therapist:
        rows.append(("Therapist", people.therapist))
    if people.clinic:
        rows.append(("Clinic", people.clinic))
    rows.append(("Date", (people.date or dt.date.today()).isoformat()))
    return tuple(rows)


def _where(v: Verdict) -> str:
    """A technique as the letter names it: never as used over a site the plan keeps it from."""
    return f"{v.technique.name} (not over the {', '.join(v.avoid_sites)})" if v.avoid_sites else v.technique.name


def _sources(reasons: tuple[Reason, ...] | list[Reason], extra: list[Recommended]) -> tuple[str, ...]:
    titles = [r.basis.source.title for r in reasons] + [r.basis.source.title for r in extra]
    return tuple(dict.fromkeys(titles))


def _either(sites: list[str]) -> str:
    """'ribs', 'ribs or feet', 'ribs, spine or feet': the client reads one body part at a time."""
    return sites[0] if len(sites) == 1 else f"{', '.join(sites[:-1])} or {sites[-1]}"


def _untreatable(plan: Plan) -> list[str]:
    return [s.site for s in plan.sites if s.no_treatment]


def self_care_sheet(plan: Plan, knowledge: Knowledge, people: People) -> Document:
    """Every self-care point, in plain words, the ones this client's plan makes pressing first with why."""
    advice = {item.id: item.advice or item.text for item in knowledge.self_care}
    why_of = {rule.id: rule.client_reason for rule in knowledge.rules}
    avoid = _untreatable(plan)
    primary = knowledge.summary[0].basis.source.ref if knowledge.summary else ""
    on_body = {item.id for item in knowledge.self_care if item.on_body}
    pressing: list[Entry] = []
    daily: list[Entry] = []
    for point in plan.self_care:
        text = advice[point.id]
        if point.id in on_body and avoid:
            text += f" Not over your {_either(avoid)} until your doctor says it is safe."
        reasons = [why_of.get(r.rule) or "" for r in point.reasons]
        cite = point.basis.source.title if point.basis.source.ref != primary else ""
        entry = Entry(text, " ".join(dict.fromkeys(w for w in reasons if w)), cite=cite)
        (pressing if point.pressing else daily).append(entry)
    sections = []
    if pressing:
        sections.append(Section("Most important for you", tuple(pressing)))
    sections.append(Section("Every day" if pressing else "Your self-care", tuple(daily)))
    if plan.withheld:
        held = tuple(
            Entry(w.text, " ".join(dict.fromkeys(why_of.get(r.rule) or "" for r in w.reasons)).strip())
            for w in plan.withheld
        )
        sections.append(Section("Not for you for now", held))
    return Document(
        kind="selfcare",
        title="Your self-care plan",
        meta=_meta(plan, people, for_client=True),
        intro=(
            "These points go with the massage plan your therapist made for you. They are meant to ease pain "
            "and stiffness, keep you moving safely and protect your bones.",
        ),
        sections=tuple(sections),
        sources=_sources([], list(plan.self_care)),
        closing="Discuss any change in your health, medicines or activity with your healthcare provider.",
    )


def assessment_checklist(plan: Plan, knowledge: Knowledge, people: People) -> Document:
    """The source's assessment steps, the ones this client makes pressing first, with room for notes."""
    entries = []
    for step in plan.assessment:
        why = " ".join(dict.fromkeys(f"{r.text} ({r.rule})" for r in step.reasons))
        text = f"{step.text} {not_over(step.avoid_sites)}".strip()
        entries.append(Entry(text, why, check=True, notes=True))
    facts = _facts(plan, knowledge)
    intro = [f"Stage: {plan.stage}." + (f" Client facts: {'; '.join(facts)}." if facts else "")]
    intro += [f"Assumed: {a}" for a in plan.assumptions]
    sections = [Section("Before treating", tuple(entries))]
    if plan.record_notes:  # what the record leaves open is for the therapist to ask
        sections.append(
            Section("Left open by the record", tuple(Entry(n, check=True, notes=True) for n in plan.record_notes))
        )
    return Document(
        kind="assess",
        title="Assessment checklist",
        meta=_meta(plan, people),
        intro=tuple(intro),
        sections=tuple(sections),
        sources=_sources([r for s in plan.assessment for r in s.reasons], list(plan.assessment)),
        closing="This checklist supports, and does not replace, clinical judgement.",
    )


def _facts(plan: Plan, knowledge: Knowledge) -> list[str]:
    """The client's facts in the knowledge's words (each fact's meaning), in its order."""
    p = plan.profile
    out = []
    if p.t_score is not None:
        out.append(f"T-score {p.t_score:g}")
    for fact in knowledge.facts:
        if p.has(fact.id):
            sites = p.sites_of(fact.id)
            out.append(f"{fact.meaning}: {', '.join(sites)}" if sites else fact.meaning)
    if p.cleared:
        out.append(f"cleared by physician: {', '.join(p.cleared)}")
    return out


def _clearance_question(c: Clearance, knowledge: Knowledge) -> Entry:
    """Asked in the physician's terms: the site and what is there, not the therapist's instruction."""
    rule = next((r for r in knowledge.rules if r.id == c.reason.rule), None)
    fact = knowledge.fact(rule.for_each) if rule is not None and rule.for_each else None
    if rule is not None and rule.physician_question:
        return Entry(rule.physician_question, check=True)
    why = f"({with_article(fact.meaning)} there)" if fact is not None else c.reason.text
    return Entry(f"May I treat over the {', '.join(c.sites) or 'client as a whole'}? {why}", check=True)


def physician_letter(plan: Plan, knowledge: Knowledge, people: People) -> Document:
    """To the physician: the facts, the planned approach, and what the therapist asks, with room to reply."""
    client = people.client or plan.profile.name or "our mutual client"
    facts = _facts(plan, knowledge)
    when = f"Not on {plan.session}, as the record stands today" if plan.session is not None else "Not today"
    approach = [Entry(f"{when}: the session is postponed. {r.text}") for r in plan.postponed]
    approach += [Entry(f"Highest pressure overall: level {plan.max_pressure} ({plan.max_pressure_label}) "
                      f"on a 1–{knowledge.top_pressure} scale.")]  # fmt: skip
    for s in plan.sites:
        level = (
            "not treated"
            if s.no_treatment
            else f"pressure at most {s.max_pressure} ({knowledge.pressure_label(s.max_pressure)})"
        )
        approach.append(Entry(f"{s.site}: {level}."))
    groups = {status: [v for v in plan.techniques if v.status is status] for status in Status}
    if groups[Status.SAFE]:
        approach.append(Entry("Used unchanged: " + ", ".join(_where(v) for v in groups[Status.SAFE]) + "."))
    for v in groups[Status.MODIFY]:
        approach.append(Entry(f"{_where(v)}, modified: {' '.join(v.modifications)}"))
    if groups[Status.EXCLUDED]:
        approach.append(Entry("Not used: " + ", ".join(v.technique.name for v in groups[Status.EXCLUDED]) + "."))
    if plan.positioning:
        approach.append(Entry("Positioning: " + ", ".join(p.text for p in plan.positioning) + "."))
    avoided = [p for p in plan.positions if p.status is PositionStatus.AVOID]
    if avoided:
        approach.append(Entry("Positions avoided: " + ", ".join(p.position.name for p in avoided) + "."))
    questions = [_clearance_question(c, knowledge) for c in plan.clearance_required]
    asked = {r.id: r.physician_question for r in knowledge.rules if r.physician_question}
    flagged = [r for step in plan.assessment if step.id == "collaborate_physician" for r in step.reasons]
    questions += [
        Entry(f"{r.text}", check=True)
        for r in flagged
        if r.rule not in asked and r not in plan.postponed and not any(c.reason == r for c in plan.clearance_required)
    ]
    cleared = {c.reason.rule for c in plan.clearance_required}
    fired = dict.fromkeys(r.rule for r in plan.all_reasons() if r.rule in asked and r.rule not in cleared)
    questions += [Entry(asked[rule], check=True) for rule in fired]
    if plan.record_notes:
        questions.append(Entry("Do you know more about any point the record leaves open (above)?", check=True))
    questions.append(
        Entry("Is there anything else I should know about readiness for massage and its scope?", check=True)
    )
    about = [f"Stage: {plan.stage}", *(f"Assumed: {a}" for a in plan.assumptions), *facts]
    # The record's notes are the therapist's to check ("ask the client"): said as such, not as the doctor's task.
    left_open = Section(
        "Left open by the record: I will check these with the client", tuple(Entry(n) for n in plan.record_notes)
    )
    sections = (
        Section("About the client", tuple(Entry(f) for f in about)),
        *((left_open,) if plan.record_notes else ()),
        Section("Planned approach", tuple(approach)),
        Section("What I would like to ask you", tuple(questions)),
    )
    return Document(
        kind="letter",
        title=f"Massage therapy for {client}",
        meta=_meta(plan, people, with_physician=True),
        intro=(
            f"Dear {people.physician or 'Doctor'},",
            f"I am planning gentle massage therapy for {client}, who lives with osteoporosis. Before I treat, "
            "I would like to agree readiness and scope with you. Below are the facts I have, the approach I "
            "plan, and my questions.",
        ),
        sections=sections,
        sources=_sources(list(plan.all_reasons()), []),
        closing=f"Thank you. Kind regards,\n{people.therapist or 'The massage therapist'}",
        reply=("Comments:", "", "", "Name:", "Signature:", "Date:"),  # three lines to comment on
    )
