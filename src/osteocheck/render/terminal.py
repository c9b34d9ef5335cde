"""The plan on a terminal (Rich). Untrusted text only ever enters as `Text`, never as markup."""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from osteocheck.engine.model import (
    Knowledge,
    Plan,
    PositionStatus,
    Reason,
    Recommended,
    SitePlan,
    Status,
    Verdict,
)
from osteocheck.render.escape import plain
from osteocheck.render.fit import FittedTable
from osteocheck.render.glance import fact_words
from osteocheck.render.phrases import (
    DISCLAIMER,
    PROCEED,
    PROCEED_STYLE,
    avoid_text,
    not_over,
    other_knowledge,
    record_lines,
    why_not_here,
)

_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
_STATUS_STYLE = {Status.EXCLUDED: "bold red", Status.MODIFY: "yellow", Status.SAFE: "green"}


def t(text: str, style: str = "") -> Text:
    return Text(plain(text), style=style)


def _rules(reasons: Iterable[Reason]) -> Text:
    return Text(", ".join(plain(r.rule) for r in dict.fromkeys(reasons)), style="dim")


def _heading(title: str) -> Text:
    return Text(title, style="bold underline")


def proceed_view(plan: Plan) -> RenderableType:
    """The first line of every view: whether the session goes ahead, and why not today."""
    line = Text.assemble(
        "proceed: ", (PROCEED[plan.proceed], PROCEED_STYLE[plan.proceed]), "  stage: ", (plan.stage, "bold")
    )
    why = [Text.assemble(("  postpone: ", "bold red"), t(r.text), " ", _rules([r])) for r in plan.postponed]
    return Group(line, *why) if why else line


def postpone_panel(plan: Plan) -> RenderableType | None:
    """Why the session is not for today, before everything else."""
    if not plan.postponed:
        return None
    lines = Text()
    for r in plan.postponed:
        lines.append(Text.assemble(("• ", "bold red"), t(r.text), " ", _rules([r])))
        lines.append("\n")
    lines.rstrip()
    return Panel(lines, title="POSTPONE THE SESSION", title_align="left", border_style="bold red")


def clearance_panel(plan: Plan) -> RenderableType:
    if not plan.clearance_required:
        return Text("Physician clearance: not required by any rule.", style="green")
    lines = Text()
    for c in plan.clearance_required:
        where = ", ".join(c.sites) if c.sites else "treatment as a whole"
        lines.append(
            Text.assemble(("• ", "bold red"), (plain(where), "bold"), ": ", t(c.reason.text), " ", _rules([c.reason]))
        )
        lines.append("\n")
    lines.rstrip()
    return Panel(
        lines, title="PHYSICIAN CLEARANCE REQUIRED BEFORE TREATING", title_align="left", border_style="bold red"
    )


def pressure_view(plan: Plan, knowledge: Knowledge) -> RenderableType:
    head = Text.assemble(
        ("Highest pressure overall: ", "bold"),
        (f"{plan.max_pressure}, {plain(plan.max_pressure_label)}", "bold"),
        f" on the 1–{knowledge.top_pressure} scale  ",
        _rules(plan.max_pressure_reasons),
    )
    if not plan.sites:
        return head
    table = FittedTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("site")
    table.add_column("max pressure")
    table.add_column("rules", overflow="fold")
    for s in plan.sites:
        if s.no_treatment:
            level = Text("DO NOT TREAT", style="bold red")
        else:
            level = Text(f"{s.max_pressure}, {plain(knowledge.pressure_label(s.max_pressure))}", style="yellow")
        table.add_row(t(s.site, "bold"), level, _site_rules(s))
    return Group(head, table)


def _site_rules(s: SitePlan) -> Text:
    others = s.overridden
    if not others:
        return _rules(s.governing)
    return Text.assemble(_rules(s.governing), ("; overrides ", "dim italic"), _rules(others))


def techniques_view(plan: Plan) -> RenderableType:
    """Excluded techniques grouped by their reasons (one row a reason), then modify, then safe.

    The rule ids go under the text rather than in a column of their own, so the text keeps its width.
    """
    table = FittedTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("status")
    table.add_column("technique", no_wrap=True)
    table.add_column("how / why (rules)", overflow="fold")
    groups: dict[tuple[Reason, ...], list[str]] = {}
    for v in plan.techniques:
        if v.status is Status.EXCLUDED:
            groups.setdefault(v.reasons, []).append(v.technique.name)
    for reasons, names in groups.items():
        why = t(" ".join(dict.fromkeys(r.text for r in reasons)))
        table.add_row(
            Text("excluded", style=_STATUS_STYLE[Status.EXCLUDED]), t("\n".join(names)), _with_rules(why, reasons)
        )
    for status in (Status.MODIFY, Status.SAFE):
        for v in plan.techniques:
            if v.status is status:
                table.add_row(
                    Text(status.value, style=_STATUS_STYLE[status]),
                    t(v.technique.name),
                    _with_rules(_how(v, plan), v.reasons),
                )
    return table


def _with_rules(text: Text, reasons: Iterable[Reason]) -> Text:
    rules = _rules(reasons)
    return Text.assemble(text, "\n", rules) if rules.plain else text


def _how(v: Verdict, plan: Plan) -> Text:
    text = t(" ".join(v.modifications)) if v.status is Status.MODIFY else t(v.technique.description, "dim")
    avoid = avoid_text(v, plan)
    if avoid:
        text.append_text(Text.assemble("\n", t(avoid, "bold yellow")))
    return text


def _recommended(title: str, items: tuple[Recommended, ...], *, marks: bool = True) -> RenderableType:
    body = Text()
    for r in items:
        pressing = marks and r.pressing
        body.append(Text.assemble(("! " if pressing else "• ", "bold yellow" if pressing else ""), t(r.text)))
        if r.avoid_sites:
            body.append_text(Text.assemble(" ", t(not_over(r.avoid_sites), "bold red")))
        if r.reasons:
            body.append(" ")
            body.append(_rules(r.reasons))
        body.append("\n")
    body.rstrip()
    return Group(_heading(title), body if items else Text("none", style="dim"))


def _positions_view(plan: Plan) -> RenderableType:
    # Alternatives, not priorities: recommended positions are listed, not marked pressing.
    body = _recommended("Positioning (recommended for this client)", plan.positioning, marks=False)
    avoided = [p for p in plan.positions if p.status is PositionStatus.AVOID]
    if not avoided:
        return body
    lines = [
        Text.assemble(
            ("avoid ", "bold red"), t(p.position.name, "bold"), ": ", t(p.reasons[0].text), " ", _rules(p.reasons)
        )
        for p in avoided
    ]
    return Group(body, *lines)


def sources_view(reasons: Iterable[Reason]) -> RenderableType:
    """Each rule once: its id and severity, then (indented, wrapped under itself) its source sentence and inference."""
    parts: list[RenderableType] = []
    for r in dict.fromkeys(reasons):
        parts.append(Text.assemble(t(r.rule, "bold"), " [", (r.severity.value, _SEVERITY_STYLE[r.severity.value]), "]"))
        body = Text.assemble(
            ("“", "dim"), t(r.basis.source.quote, "italic"), ("” — ", "dim"), t(r.basis.source.title, "dim")
        )
        if r.basis.inference:
            body.append_text(Text.assemble("\n", ("inferred: ", "magenta"), t(r.basis.inference, "dim")))
        parts.append(Padding(body, (0, 0, 0, 2)))
    return Group(*parts)


def record_view(plan: Plan) -> list[RenderableType]:
    """What the clinical record held: used, set aside, and not recognised (so nothing is hidden)."""
    if plan.record is None:
        return []
    rec = plan.record
    body = Text()
    styles = {"used": "green", "note": "magenta", "set aside": "dim", "not recognised": "yellow", "judged as of": "dim"}
    for title, line in record_lines(rec):
        body.append(Text.assemble((f"{title}: ", styles[title]), t(line), "\n"))
    body.rstrip()
    return [_heading(f"From the record {plain(rec.file)}"), body]


def plan_view(plan: Plan, knowledge: Knowledge) -> RenderableType:
    head = Text.assemble(
        ("osteocheck plan", "bold"), "  proceed: ", (PROCEED[plan.proceed], PROCEED_STYLE[plan.proceed]),
        "  stage: ", (plan.stage, "bold"),
    )  # fmt: skip
    parts: list[RenderableType] = [head]
    if plan.profile.name:
        # One line, cut rather than wrapped: the tail of a long name must never start a line of its own.
        parts.append(Text.assemble("client: ", t(plan.profile.name, "bold"), no_wrap=True, overflow="ellipsis"))
    other = other_knowledge(knowledge)
    parts += [Text.assemble(("knowledge: ", "bold magenta"), t(other))] if other else []
    parts += [Text.assemble(("assumed: ", "magenta"), t(a)) for a in plan.assumptions]
    parts += [Text.assemble(("cleared by physician: ", "green"), t(f"{x.site} ({x.reason.rule})")) for x in plan.lifted]
    parts += record_view(plan)
    postpone = postpone_panel(plan)
    parts += [postpone] if postpone is not None else []
    parts += [
        clearance_panel(plan),
        pressure_view(plan, knowledge),
        _heading("Techniques"),
        techniques_view(plan),
        Text(""),
        _positions_view(plan),
        Text(""),
        _recommended("Assessment (! = pressing for this client)", plan.assessment),
        Text(""),
        _recommended("Self-care to hand over (! = pressing for this client)", plan.self_care),
        *([Text(""), _recommended("Self-care not for this client", plan.withheld)] if plan.withheld else []),
        _heading("Sources"),
        sources_view(plan.all_reasons()),
        Text(DISCLAIMER, style="dim italic"),
    ]
    return Group(*_spaced(parts))


def _spaced(parts: list[RenderableType]) -> list[RenderableType]:
    """A blank line before each section heading and panel, so the eye finds them."""
    out: list[RenderableType] = []
    for part in parts:
        if isinstance(part, Panel) or (isinstance(part, Text) and part.style == "bold underline"):
            out.append(Text(""))
        out.append(part)
    return out


def excluded_view(plan: Plan) -> RenderableType:
    table = FittedTable(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="Excluded techniques", title_justify="left"
    )
    table.add_column("technique", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=3)
    table.add_column("rules", overflow="fold", ratio=1)
    excluded = [v for v in plan.techniques if v.status is Status.EXCLUDED]
    # Techniques excluded for the same reasons share one row: the sentence once, not once per technique.
    groups: dict[tuple[Reason, ...], list[Verdict]] = {}
    for v in excluded:
        groups.setdefault(v.reasons, []).append(v)
    for reasons, verdicts in groups.items():
        names = Text("\n").join(t(v.technique.name, "bold red") for v in verdicts)
        table.add_row(names, t(" ".join(dict.fromkeys(r.text for r in reasons))), _rules(reasons))
    untreated = [s.site for s in plan.sites if s.no_treatment]
    parts: list[RenderableType] = [proceed_view(plan)]
    if untreated:
        parts.append(Text.assemble(("Sites not to be treated: ", "bold red"), t(", ".join(untreated))))
    parts.append(table)
    allowed = [v for v in plan.techniques if v.status is not Status.EXCLUDED and v.avoid_sites]
    if allowed:
        parts.append(_heading("Allowed, but not at these sites"))
        parts += [Text.assemble(t(v.technique.name, "bold"), ": ", t(avoid_text(v, plan), "yellow")) for v in allowed]
    parts += [_heading("Sources"), sources_view(r for v in excluded for r in v.reasons)]
    return Group(*parts)


def catalogue_view(knowledge: Knowledge) -> RenderableType:
    """The catalogue by category: each technique's id (what explain takes), name, pressure and description.

    The description gets the width: at 80 columns a table of five columns squeezed it into twelve.
    """
    parts: list[RenderableType] = []
    categories = dict.fromkeys(tech.category for tech in knowledge.techniques)
    width = 2 + max(len(plain(tech.id)) for tech in knowledge.techniques)  # one id column for every category
    for category in categories:
        grid = Table.grid(padding=(0, 2, 0, 0))
        grid.add_column(no_wrap=True, min_width=width)
        grid.add_column(overflow="fold")
        for tech in (x for x in knowledge.techniques if x.category == category):
            level = f"pressure {tech.pressure}, {knowledge.pressure_label(tech.pressure)}"
            about = Text.assemble(t(tech.name, "bold"), " · ", t(level), "\n", t(tech.description, "dim"))
            grid.add_row(Text("  ") + t(tech.id, "cyan"), about)
        parts += [_heading(category), grid]
    return Group(*parts)


def condition_text(rule_id: str, knowledge: Knowledge) -> str:
    """A rule's condition in words, as the knowledge file states it."""
    rule = next(r for r in knowledge.rules if r.id == rule_id)
    text = rule.when.describe()
    if rule.for_each:
        text = f"for each site in {rule.for_each}" + ("" if text == "always" else f", if {text}")
    return text + (" (unless cleared by a physician)" if rule.unless_cleared else "")


def explain_view(verdict: Verdict, plan: Plan, knowledge: Knowledge) -> RenderableType:
    tech = verdict.technique
    head = Text.assemble(
        t(tech.name, "bold"), f" ({plain(tech.id)}): ", (verdict.status.value.upper(), _STATUS_STYLE[verdict.status])
    )
    parts: list[RenderableType] = [proceed_view(plan), head, t(tech.description, "dim")]
    parts.append(
        Text(
            f"Nominal pressure {tech.pressure}, {knowledge.pressure_label(tech.pressure)}; "
            f"highest allowed for this client {plan.max_pressure}, {plan.max_pressure_label}."
        )
    )
    parts += [Text.assemble(("assumed: ", "magenta"), t(a)) for a in plan.assumptions]
    for m in verdict.modifications:
        parts.append(Text.assemble(("modify: ", "yellow"), t(m)))
    grouped: dict[tuple[str, tuple[Reason, ...]], list[str]] = {}
    for site, reasons in verdict.avoid_reasons:
        grouped.setdefault((why_not_here(verdict, plan, site), reasons), []).append(site)
    for (why, reasons), sites in grouped.items():
        parts.append(
            Text.assemble(
                ("not over the ", "bold yellow"), t(", ".join(sites), "bold"), f": {why} — rules ", _rules(reasons)
            )
        )
    if not verdict.reasons and not verdict.avoid_sites:
        parts.append(Text("No rule restricts this technique for this client.", style="green"))
    for r in verdict.reasons:
        parts.append(
            Text.assemble(
                ("rule ", "dim"), t(r.rule, "bold"), " [", (r.severity.value, _SEVERITY_STYLE[r.severity.value]), "]"
            )
        )
        body = Text.assemble(
            t(r.text),
            ("\nwhen: ", "dim"),
            t(condition_text(r.rule, knowledge)),
            ("\ntriggered by: ", "dim"),
            t("; ".join(r.facts) or "always"),
            ("\nsource: “", "dim"),
            t(r.basis.source.quote, "italic"),
            ("” — ", "dim"),
            t(r.basis.source.title, "dim"),
        )
        if r.basis.inference:
            body.append_text(Text.assemble(("\ninferred: ", "magenta"), t(r.basis.inference)))
        parts.append(Padding(body, (0, 0, 0, 2)))
    if verdict.status is not Status.EXCLUDED:  # an excluded technique is used nowhere
        level = min(plan.max_pressure, tech.pressure)
        where = f"everywhere but the {', '.join(verdict.avoid_sites)}" if verdict.avoid_sites else "everywhere"
        parts.append(
            Text.assemble(
                ("Where it may be used: ", "bold"),
                t(where),
                f", at most at pressure {level}, {knowledge.pressure_label(level)}.",
            )
        )
    parts.append(Text(DISCLAIMER, style="dim italic"))
    return Group(*parts)


def _checklist() -> Table:
    """A box to tick, then the text beside it, folded."""
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def assessment_view(plan: Plan, knowledge: Knowledge) -> RenderableType:
    """A checklist: each step, and for a pressing one the client facts that make it so; the rules' sources after."""
    grid = _checklist()
    for step in plan.assessment:
        text = t(step.text)
        if step.avoid_sites:
            text.append_text(Text.assemble(" ", t(not_over(step.avoid_sites), "bold red")))
        if step.pressing:
            facts = dict.fromkeys(fact_words(f, knowledge) for r in step.reasons for f in r.facts)
            text.append_text(Text.assemble("\n", ("why now: ", "yellow"), t("; ".join(facts) or "always")))
        grid.add_row(Text("☐ !" if step.pressing else "☐  ", style="bold yellow" if step.pressing else ""), text)
    reasons = [r for s in plan.assessment for r in s.reasons]
    parts: list[RenderableType] = [
        proceed_view(plan),
        Text.assemble(("Assessment checklist", "bold underline"), "  (! = pressing for this client)"),
        grid,
    ]
    if plan.record_notes:  # what the record leaves open is for the therapist to ask
        left = _checklist()
        for note in plan.record_notes:
            left.add_row(Text("☐ ?", style="bold yellow"), t(note))
        parts += [_heading("Left open by the record"), left]
    if reasons:
        parts += [_heading("Sources"), sources_view(reasons)]
    return Group(*parts)
