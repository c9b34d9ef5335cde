"""The plan as Markdown: headings and lists only, every piece of text escaped."""

from __future__ import annotations

from collections.abc import Iterable

from osteocheck.engine.model import Knowledge, Plan, PositionStatus, Reason, Recommended, SitePlan, Status, Verdict
from osteocheck.render.escape import markdown as md
from osteocheck.render.glance import glance, safe_groups
from osteocheck.render.phrases import PROCEED, avoid_text, not_over, other_knowledge, record_lines, why_not_here

DISCLAIMER = "This plan supports, and does not replace, clinical judgement."


def _ids(reasons: Iterable[Reason]) -> str:
    return ", ".join(f"`{r.rule}`" for r in dict.fromkeys(reasons) if "`" not in r.rule)


def _rules(reasons: Iterable[Reason]) -> str:
    ids = _ids(reasons)
    return f" ({ids})" if ids else ""


def _site_rules(s: SitePlan) -> str:
    setting, others = _ids(s.governing), _ids(s.overridden)
    return f" ({setting}; overrides {others})" if setting and others else _rules(s.governing)


def reason_lines(reasons: Iterable[Reason], conditions: dict[str, str] | None = None) -> list[str]:
    lines = []
    for r in dict.fromkeys(reasons):
        lines.append(f"- **{md(r.rule)}** ({r.severity.value}): {md(r.text)}")
        if conditions and r.rule in conditions:
            lines.append(f"  - when: {md(conditions[r.rule])}")
        if r.facts:
            lines.append(f"  - triggered by: {md('; '.join(r.facts))}")
        lines.append(f"  - source: “{md(r.basis.source.quote)}” — {md(r.basis.source.title)}")
        if r.basis.inference:
            lines.append(f"  - inferred: {md(r.basis.inference)}")
    return lines


def _recommended(title: str, items: tuple[Recommended, ...]) -> list[str]:
    lines = [f"## {title}", ""]
    for r in items:
        mark = "**Pressing:** " if r.pressing else ""
        avoid = f" **{md(not_over(r.avoid_sites))}**" if r.avoid_sites else ""
        lines.append(f"- {mark}{md(r.text)}{avoid}{_rules(r.reasons)}")
    return [*lines, ""]


def _verdict_line(v: Verdict, plan: Plan) -> str:
    if v.status is Status.EXCLUDED:
        return f"- **{md(v.technique.name)}**: {md(v.reasons[0].text)}{_rules(v.reasons)}"
    avoid = avoid_text(v, plan)
    avoid = f" **{md(avoid)}**" if avoid else ""
    if v.status is Status.MODIFY:
        return f"- **{md(v.technique.name)}**: {md(' '.join(v.modifications))}{avoid}{_rules(v.reasons)}"
    return f"- {md(v.technique.name)}" + (f":{avoid}" if avoid else "")


def plan_markdown(plan: Plan, knowledge: Knowledge) -> str:
    out = ["# Massage plan", "", f"Proceed: **{PROCEED[plan.proceed]}**", ""]
    if plan.profile.name:
        out += [f"Client: {md(plan.profile.name)}", ""]
    out += [f"Stage: **{plan.stage}** · knowledge: {md(knowledge.title)} {md(knowledge.version)}", ""]
    other = other_knowledge(knowledge)
    out += [f"Knowledge file: **{md(other)}**", ""] if other else []
    out += [f"- Assumed: {md(a)}" for a in plan.assumptions]
    out += [f"- Cleared by physician: {md(x.site)}{_rules([x.reason])}" for x in plan.lifted]
    if plan.record is not None:
        rec = plan.record
        out += ["", f"## From the record {md(rec.file)}", ""]
        out += [f"- {title.capitalize()}: {md(line)}" for title, line in record_lines(rec)]
    if plan.postponed:
        out += ["", "## Postpone the session", ""]
        out += [f"- **{md(r.text)}**{_rules([r])}" for r in plan.postponed]
    out += ["", "## Physician clearance", ""]
    if plan.clearance_required:
        for c in plan.clearance_required:
            where = ", ".join(c.sites) if c.sites else "treatment as a whole"
            out.append(f"- **Required before treating {md(where)}**: {md(c.reason.text)}{_rules([c.reason])}")
    else:
        out.append("- Not required by any rule.")
    out += ["", "## Pressure", ""]
    overall = f"**{plan.max_pressure}**, {md(plan.max_pressure_label)}"
    out.append(f"- Highest pressure overall: {overall}{_rules(plan.max_pressure_reasons)}")
    for s in plan.sites:
        level = (
            "**do not treat**"
            if s.no_treatment
            else f"at most {s.max_pressure}, {md(knowledge.pressure_label(s.max_pressure))}"
        )
        out.append(f"- {md(s.site)}: {level}{_site_rules(s)}")
    for status, title in (
        (Status.EXCLUDED, "Excluded techniques"),
        (Status.MODIFY, "Techniques to modify"),
        (Status.SAFE, "Safe techniques"),
    ):
        out += ["", f"## {title}", ""]
        chosen = [_verdict_line(v, plan) for v in plan.techniques if v.status is status]
        out += chosen or ["- none"]
    out.append("")
    out += _recommended("Positioning", plan.positioning)
    avoided = [p for p in plan.positions if p.status is PositionStatus.AVOID]
    if avoided:
        out.pop()  # the blank line after the list: the avoided positions belong to the same section
        out += [f"- **Avoid {md(p.position.name)}**: {md(p.reasons[0].text)}{_rules(p.reasons)}" for p in avoided]
        out.append("")
    out += _recommended("Assessment", plan.assessment)
    out += _recommended("Self-care", plan.self_care)
    if plan.withheld:
        out += _recommended("Self-care not for this client", plan.withheld)
    out += ["## Sources", "", *reason_lines(plan.all_reasons()), "", f"*{DISCLAIMER}*", ""]
    return "\n".join(out)


def excluded_markdown(plan: Plan) -> str:
    excluded = [v for v in plan.techniques if v.status is Status.EXCLUDED]
    out = ["# Excluded techniques", "", f"Proceed: **{PROCEED[plan.proceed]}**", "", *_postponed(plan)]
    out += [_verdict_line(v, plan) for v in excluded]
    untreated = [s.site for s in plan.sites if s.no_treatment]
    if untreated:
        out += ["", f"Sites not to be treated: {md(', '.join(untreated))}"]
    allowed = [v for v in plan.techniques if v.status is not Status.EXCLUDED and v.avoid_sites]
    if allowed:
        out += ["", "## Allowed, but not at these sites", ""]
        out += [f"- **{md(v.technique.name)}**: {md(avoid_text(v, plan))}" for v in allowed]
    out += ["", "## Sources", "", *reason_lines(r for v in excluded for r in v.reasons), ""]
    return "\n".join(out)


def _postponed(plan: Plan) -> list[str]:
    return [*(f"- **Postpone:** {md(r.text)}{_rules([r])}" for r in plan.postponed), *([""] if plan.postponed else [])]


def explain_markdown(verdict: Verdict, plan: Plan, conditions: dict[str, str]) -> str:
    tech = verdict.technique
    out = [
        f"# {md(tech.name)}: {verdict.status.value}",
        "",
        md(tech.description, line_start=True),
        "",
        f"Proceed: **{PROCEED[plan.proceed]}** · stage: **{plan.stage}**",
        "",
        *_postponed(plan),
    ]
    out += [f"- Assumed: {md(a)}" for a in plan.assumptions]
    out += [f"- Modify: {md(m)}" for m in verdict.modifications]
    for site, reasons in verdict.avoid_reasons:
        why = why_not_here(verdict, plan, site)
        out.append(f"- Not over the {md(site)}: {why}{_rules(reasons)}")
    out += ["", "## Rules", ""]
    fallback = [] if verdict.avoid_sites else ["- No rule restricts this technique for this client."]
    out += reason_lines(verdict.reasons, conditions) or fallback
    return "\n".join([*out, ""])


def catalogue_markdown(knowledge: Knowledge) -> str:
    out = [f"# Techniques: {md(knowledge.title)}", ""]
    for t in knowledge.techniques:
        level = f"{t.pressure}, {md(knowledge.pressure_label(t.pressure))}"
        out.append(f"- **{md(t.name)}** (`{t.id}`, {md(t.category)}, pressure {level}): {md(t.description)}")
    return "\n".join([*out, ""])


def glance_markdown(plan: Plan, knowledge: Knowledge) -> str:
    """The plan in short, as the terminal shows it by default; `plan_markdown` is the full plan (--details)."""
    g = glance(plan, knowledge)
    out = ["# Massage plan", "", f"Proceed: **{PROCEED[g.proceed]}**", "", f"Stage: **{g.stage}**", ""]
    if plan.profile.name:
        out += [f"Client: {md(plan.profile.name)}", ""]
    if g.postpone:
        out += [f"**{md(g.postpone_head)}:** {md('; '.join(g.postpone))}", ""]
    if g.clear:
        out += ["**Physician must clear first:**", ""]
        out += [f"- **{md(r.label)}**: {md(r.text)}" for r in g.clear]
    else:
        out.append("Physician clearance: not required by any rule.")
    out += ["", *(f"- {md(r.label.capitalize())}: {md(r.text)}" for r in g.notes)] if g.notes else []
    if plan.record is not None:
        out += ["", f"From the record {md(plan.record.file)}:", ""]
        out += [f"- {title.capitalize()}: {md(line)}" for title, line in record_lines(plan.record)]
    out += ["", f"## Pressure (at most, on the 1–{knowledge.top_pressure} scale)", ""]
    out += [f"- **{md(r.label)}**: {md(r.text)}" for r in g.body]
    out += ["", "## Techniques", ""]
    if g.untreated:
        out.append(f"- **None over**: {md(', '.join(g.untreated))} (not to be treated)")
    if g.excluded:
        out.append(f"- **Excluded**: {md(', '.join(g.excluded))}")
    for line in g.modify:
        how = f": {md(line.how)}" if line.how else ""
        where = f" **Not over {md(line.not_over)}.**" if line.not_over else ""
        out.append(f"- **Modify** {md(line.name)}{how}{where}")
    for where, names in safe_groups(g.safe):
        out.append(f"- **Safe**: {md(', '.join(names))}" + (f" **(not over {md(where)})**" if where else ""))
    out += ["", "## Positions", ""]
    out += [f"- **{md(r.label.capitalize())}**: {md(r.text)}" for r in g.positions]
    steps, pressing = g.assessment
    points, _, withheld = g.self_care
    care = f"{points} points" + (f", {withheld} withheld" if withheld else "")
    out += [
        "",
        f"Next: `osteocheck assess` ({steps} steps, {pressing} pressing) · `osteocheck selfcare` ({care}).",
        "",
        "Why: add `--details` for reasons, rules and sources, or `osteocheck explain ID`.",
        "",
        f"*{DISCLAIMER}*",
        "",
    ]
    return "\n".join(out)
