"""Sentences several views share, so the terminal, Markdown, JSON and the documents say the same thing."""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

from osteocheck.engine.model import Knowledge, Plan, Proceed, Record, Verdict
from osteocheck.shipped import knowledge_path

NARROW = 60  # columns: below this a table's cells are shown one under another, each led by its status

DISCLAIMER = "This plan supports, and does not replace, your clinical judgement."
# Style names (Rich's spelling) every terminal view uses for the go-ahead and the labelled rows.
PROCEED_STYLE = {Proceed.YES: "bold green", Proceed.AFTER_CLEARANCE: "bold red", Proceed.POSTPONE: "bold red"}
LABEL_STYLE = {
    "DO NOT TREAT": "bold red", "excluded": "bold red", "modify": "yellow", "safe": "green", "avoid": "bold red",
    "recommended": "green", "allowed": "", "assumed": "magenta", "cleared by physician": "green",
    "knowledge": "bold magenta",
}  # fmt: skip

PROCEED = {
    Proceed.YES: "yes",
    Proceed.AFTER_CLEARANCE: "only after physician clearance",
    Proceed.POSTPONE: "no: postpone the session",
}
# The same, on the client's own sheet: in the client's words, not the therapist's.
FOR_THE_CLIENT = {
    Proceed.YES: "can go ahead",
    Proceed.AFTER_CLEARANCE: "after your doctor says it is safe",
    Proceed.POSTPONE: "put off for now",
}


def avoid_text(verdict: Verdict, plan: Plan) -> str:
    """Where an allowed technique must still not be used, and why, in one sentence (empty when nowhere)."""
    groups: dict[str, list[str]] = {}
    for site in verdict.avoid_sites:
        groups.setdefault(_why(verdict, plan, site), []).append(site)
    order = {"not to be treated": 0, "excluded there": 2}  # caps in between, in the order met
    parts = [f"{', '.join(sites)} ({why})" for why, sites in sorted(groups.items(), key=lambda g: order.get(g[0], 1))]
    return f"Not over: {'; '.join(parts)}." if parts else ""


def not_over(sites: tuple[str, ...]) -> str:
    """For an assessment step or self-care point: the sites it works on that are not to be treated."""
    return f"Not over the {', '.join(sites)}: not to be treated." if sites else ""


def why_not_here(verdict: Verdict, plan: Plan, site: str) -> str:
    """Why a technique is kept from one site, for explain."""
    return _why(verdict, plan, site).replace("capped at", "pressure capped at")


def _why(verdict: Verdict, plan: Plan, site: str) -> str:
    found = plan.site(site)
    if found is not None and found.no_treatment:
        return "not to be treated"
    if found is not None and found.max_pressure < verdict.technique.pressure:
        return f"capped at level {found.max_pressure}, below its level {verdict.technique.pressure}"
    return "excluded there"


def record_lines(rec: Record) -> list[tuple[str, str]]:
    """The record in short: when it was judged, what it gave (with its evidence), notes, and counts of the rest.

    Every resource set aside or not recognised is listed in the JSON plan; here only how many, by type.
    """
    out = [("judged as of", rec.as_of)] if rec.as_of else []
    out += [("used", line) for line in rec.used]
    out += [("note", line) for line in rec.notes]
    for title, lines in (("set aside", rec.set_aside), ("not recognised", rec.unrecognised)):
        if lines:
            kinds = Counter(line.split("/", 1)[0] if "/" in line.split(" ", 1)[0] else "other" for line in lines)
            by_kind = ", ".join(f"{kind} {n}" for kind, n in kinds.most_common())
            out.append((title, f"{len(lines)} ({by_kind}); each is listed in --format json"))
    return out


def other_knowledge(knowledge: Knowledge) -> str:
    """'path (title version)' when the plan rests on a knowledge file other than the shipped one, else ''.

    Every plan view names it, so a file set once in the config can never change the advice unseen.
    """
    if _is_shipped(knowledge.path):
        return ""
    return f"{knowledge.path} ({knowledge.title} {knowledge.version})"


@functools.lru_cache(maxsize=16)
def _is_shipped(path: str) -> bool:
    """Resolving paths costs system calls; a service asks this for every plan, of the same one or two files."""
    return Path(path).resolve() == knowledge_path().resolve()
