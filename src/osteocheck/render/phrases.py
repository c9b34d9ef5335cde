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
    untreated: list[str] = []
    capped: dict[int, list[str]] = {}
    excluded: list[str] = []
    for site in verdict.avoid_sites:
        found = plan.site(site)
        if found is not None and found.no_treatment:
            untreated.append(site)
        elif found is not None and found.max_pressure < verdict.technique.pressure:
            capped.setdefault(found.max_pressure, []).append(site)
        else:
            excluded.append(site)
    parts = [f"{', '.join(untreated)} (not to be treated)"] if untreated else []
    level = verdict.technique.pressure
    parts += [f"{', '.join(sites)} (capped at level {cap}, below its level {level})" for cap, sites in capped.items()]
    parts += [f"{', '.join(excluded)} (excluded there)"] if excluded else []
    return f"Not over: {'; '.join(parts)}." if parts else ""


def not_over(sites: tuple[str, ...]) -> str:
    """For an assessment step or self-care point: the sites it works on that are not to be treated."""
    return f"Not over the {', '.join(sites)}: not to be treated." if sites else ""


def why_not_here(verdict: Verdict, plan: Plan, site: str) -> str:
    found = plan.site(site)
    if found is not None and found.no_treatment:
        return "not to be treated"
    if found is not None and found.max_pressure < verdict.technique.pressure:
        return f"pressure capped at level {found.max_pressure}, below its level {verdict.technique.pressure}"
    return "excluded there"


def avoid_reasons(verdict: Verdict) -> tuple[tuple[str, tuple[Reason, ...]], ...]:
    """Each avoided site with the rules that keep the technique from it."""
    return verdict.avoid_reasons
