"""The plan as CDS Hooks cards: go-ahead and clearances first, then what not to do where, one rule per card.

Each restriction card carries one rule (its severity is the card's indicator, its id the source's
topic), so the clinician can judge it: the detail gives the rule's text, the client facts that
triggered it and the sentence of the source it rests on. Summaries stay under 140 characters; every
text from the knowledge or the record is escaped for Markdown in the detail.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from typing import Any

from osteocheck import __version__
from osteocheck.engine.model import Knowledge, Plan, PositionStatus, Proceed, Reason, Severity, Status
from osteocheck.render.apart import tell_apart
from osteocheck.render.escape import markdown, plain
from osteocheck.render.glance import body_rows, clearance_rows, facts_in_words, postponed_words, postponing_later

SUMMARY_LIMIT = 139  # CDS Hooks: "<140 char"
_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


@functools.lru_cache(maxsize=4096)  # summaries are the knowledge's words: the same few hundred for every patient
def short(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis when longer."""
    line = " ".join(plain(text).split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def name_uuid(namespace: bytes, name: str) -> str:
    """`str(uuid.uuid5(UUID(bytes=namespace), name))`, without building two UUID objects per card."""
    h = _uuid5_bytes(namespace, name).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _uuid5_bytes(namespace: bytes, name: str) -> bytes:
    """`uuid.uuid5(UUID(bytes=namespace), name).bytes`."""
    digest = bytearray(hashlib.sha1(namespace + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return bytes(digest)


class _Cards:
    def __init__(self, plan: Plan, knowledge: Knowledge, base_url: str, patient: str) -> None:
        self.plan, self.knowledge, self.base = plan, knowledge, base_url.rstrip("/")
        self.seed = _uuid5_bytes(uuid.NAMESPACE_URL.bytes, f"osteocheck:{knowledge.sha256}:{patient}")
        self.cards: list[dict[str, Any]] = []
        self.rules: list[Reason | None] = []  # each card's rule, in step with the cards
        self.label = f"osteocheck {__version__}: {plain(knowledge.title)}"

    def add(self, key: str, summary: str, indicator: str, detail: str, rule: Reason | None = None) -> dict[str, Any]:
        source: dict[str, Any] = {"label": self.label}
        if rule is not None:
            source["url"] = f"{self.base}/rules/{rule.rule}"
            source["topic"] = {"system": f"{self.base}/rules", "code": rule.rule, "display": short(rule.text, 120)}
        card = {
            "uuid": name_uuid(self.seed, key),
            "summary": short(summary),
            "indicator": indicator,
            "detail": detail,
            "source": source,
        }
        self.cards.append(card)
        self.rules.append(rule)
        return card

    def tell_apart(self) -> None:
        """Summaries that would read the same each say their own rule: an EHR lists cards by summary."""
        summaries = tell_apart([card["summary"] for card in self.cards], self.rules, short, SUMMARY_LIMIT)
        for card, summary in zip(self.cards, summaries, strict=True):
            card["summary"] = summary

    def why(self, reason: Reason) -> str:
        """The rule, the facts that triggered it and its source, as Markdown."""
        facts = facts_in_words(reason, self.knowledge, with_sites=True) if reason.facts else "the stage"
        source = reason.basis.source
        text, rule = _rule(reason.text, reason.rule, reason.severity.value, source.title, source.quote,
                           reason.basis.inference or "")  # fmt: skip
        return f"{text}\n\n- **Because:** {markdown(facts)}\n{rule}"


@functools.lru_cache(maxsize=1024)
def _rule(text: str, rule: str, severity: str, title: str, quote: str, inference: str) -> tuple[str, str]:
    """A rule's text, and its id, source and inference, escaped once per rule: they are the knowledge's
    own words, the same for every patient (the facts that triggered it are escaped per call)."""
    lines = [f"- **Rule:** {markdown(rule)} ({severity})", f"- **Source:** {markdown(title)}: “{markdown(quote)}”"]
    if inference:
        lines.append(f"- **Inferred:** {markdown(inference)}")
    return markdown(text), "\n".join(lines)


@functools.lru_cache(maxsize=4096)
def _listed(head: str, items: tuple[str, ...], how: tuple[tuple[str, str], ...] = ()) -> str:
    """Escaped once per list: technique, site and position names are the knowledge's words. `how`: for
    modified techniques, each with what this card's rule asks of it."""
    if how:
        lines = "\n".join(f"- **{markdown(name)}:** {markdown(text)}" for name, text in how)
        return f"**{markdown(head)}:**\n\n{lines}\n\n"
    return f"**{markdown(head)}:** {markdown(', '.join(items))}\n\n"


def plan_cards(
    plan: Plan, knowledge: Knowledge, *, base_url: str, patient: str, link: str | None, booked: bool = False
) -> list[dict[str, Any]]:
    """The cards for one plan; `link`, when given, is the URL of the full plan (a link card ends the list);
    `booked`, for a session being booked (appointment-book), perhaps for another day than today's record."""
    out = _Cards(plan, knowledge, base_url, patient)
    _proceed(out, booked)
    for c in plan.clearance_required:
        where = ", ".join(c.sites) or "treatment as a whole"
        because = facts_in_words(c.reason, knowledge, with_sites=False)
        out.add(f"clear:{c.reason.rule}:{where}", f"Physician must clear first: {where} ({because})",
                c.reason.severity.value, out.why(c.reason), c.reason)  # fmt: skip
    for reason in plan.postponed:
        out.add(f"postpone:{reason.rule}", f"Postpone massage: {reason.text}", reason.severity.value,
                out.why(reason), reason)  # fmt: skip
    for key, head, items, reason, how in sorted(_restrictions(plan, knowledge), key=lambda r: _ORDER[r[3].severity]):
        because = facts_in_words(reason, knowledge, with_sites=False)
        out.add(key, f"{head}: {', '.join(items)} ({because})", reason.severity.value,
                _listed(head, tuple(items), tuple(how)) + out.why(reason), reason)  # fmt: skip
    out.tell_apart()
    if link is not None:
        card = out.add("link", "Full plan: every reason and source, assessment steps, self-care", "info",
                       "The whole plan as `osteocheck plan --details` prints it.")  # fmt: skip
        card["links"] = [{"label": "Open the full osteocheck plan", "url": link, "type": "absolute"}]
    return out.cards


def _proceed(out: _Cards, booked: bool) -> None:
    plan, knowledge = out.plan, out.knowledge  # the parts of the one-screen plan the cards show, not all of it
    clear = [f"{row.label} ({row.text})" for row in clearance_rows(plan, knowledge)]
    if plan.proceed is Proceed.POSTPONE:
        head = postponing_later(plan, booked=booked) or "Postpone massage today"
        summary, indicator = f"{head}: " + "; ".join(postponed_words(plan, knowledge)), "critical"
    elif plan.proceed is Proceed.AFTER_CLEARANCE:
        worst = min((c.reason.severity for c in plan.clearance_required), key=_ORDER.__getitem__)
        summary, indicator = "Massage only after the physician clears: " + "; ".join(clear), worst.value
    else:
        restricted = any(v.status is not Status.SAFE for v in plan.techniques) or plan.sites
        summary = "Massage may proceed" + (" with the restrictions below" if restricted else "")
        indicator = "warning" if restricted else "info"
    lines = [f"**Stage:** {markdown(plan.stage)}"]
    lines += [f"- **Clear first:** {markdown(c)}" for c in clear]
    lines += [f"- **Assumed:** {markdown(a)}" for a in plan.assumptions]
    lines += [f"- **From the record:** {markdown(n)}" for n in plan.record_notes]
    lines += [f"- **Pressure:** {markdown(row.label)}: {markdown(row.text)}" for row in body_rows(plan, knowledge)]
    out.add("proceed", summary, indicator, "\n".join(lines))


def _restrictions(plan: Plan, knowledge: Knowledge) -> list[tuple[str, str, list[str], Reason, list[tuple[str, str]]]]:
    """(key, summary, what, rule, how) per rule: sites not to treat, pressure caps, excluded and modified
    techniques (each with what this rule asks of it), positions."""
    found: dict[tuple[str, str], tuple[list[str], Reason, list[tuple[str, str]]]] = {}

    def note(kind: str, reason: Reason, what: str, how: tuple[str, ...] = ()) -> None:
        listed, _, asked = found.setdefault((kind, reason.rule), ([], reason, []))
        if what not in listed:
            listed.append(what)
            asked.extend((what, text) for text in how)

    for s in plan.sites:
        for reason in s.governing:  # a card says what its own rule says: not a cap's rule under "Do not treat"
            note("untreated" if s.no_treatment else f"cap{s.max_pressure}", reason, s.site)
    for v in plan.techniques:
        if v.status is not Status.SAFE:
            for reason in v.reasons:
                note(v.status.value, reason, v.technique.name, v.asked_by(reason))
    for p in plan.positions:
        if p.status is PositionStatus.AVOID:
            for reason in p.reasons:
                note("position", reason, p.position.name)
    heads = {"untreated": "Do not treat", "excluded": "Do not use", "modify": "Modify", "position": "Avoid position"}
    out = []
    for (kind, rule), (what, reason, how) in found.items():
        if kind.startswith("cap"):
            level = int(kind[3:])
            head = f"Pressure at most level {level} ({knowledge.pressure_label(level)}) over"
        else:
            head = heads[kind]
        out.append((f"{kind}:{rule}", head, what, reason, how))
    return out
