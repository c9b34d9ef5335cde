"""Sentences several views share, so the terminal, Markdown, JSON and the documents say the same thing."""

from __future__ import annotations

from osteocheck.engine.model import Plan, Proceed, Reason, Verdict

PROCEED = {
    Proceed.YES: "yes",
    Proceed.AFTER_CLEARANCE: "only after physician clearance",
    Proceed.POSTPONE: "no: postpone the session",
}


def avoid_text(verdict: Verdict, plan: Plan) -> str:
    """Where an allowed technique must still not be used, and why, in one sentence (empty when nowhere)."""
    untreated = [s for s in verdict.avoid_sites if (p := plan.site(s)) is not None and p.no_treatment]
    capped: dict[int, list[str]] = {}
    for site in verdict.avoid_sites:
        found = plan.site(site)
        if found is not None and not found.no_treatment:
            capped.setdefault(found.max_pressure, []).append(site)
    parts = [f"{', '.join(untreated)} (not to be treated)"] if untreated else []
    level = verdict.technique.pressure
    parts += [f"{', '.join(sites)} (capped at level {cap}, below its level {level})" for cap, sites in capped.items()]
    return f"Not over: {'; '.join(parts)}." if parts else ""


def avoid_reasons(verdict: Verdict, plan: Plan) -> list[tuple[str, tuple[Reason, ...]]]:
    """Each avoided site with the rules that restrict it."""
    return [(site, found.reasons) for site in verdict.avoid_sites if (found := plan.site(site)) is not None]
