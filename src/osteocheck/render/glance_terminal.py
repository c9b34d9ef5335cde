"""The plan in short on a terminal: one screen at 80 columns, go-ahead and clearances in the first lines.

Labelled rows are a two-column grid, so a wrapped line stays under its text, not under its label.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.table import Table
from rich.text import Text

from osteocheck.engine.model import Knowledge, Plan
from osteocheck.render.escape import plain
from osteocheck.render.glance import Glance, Row, TechniqueLine, glance, safe_groups
from osteocheck.render.phrases import DISCLAIMER, LABEL_STYLE, NARROW, PROCEED, PROCEED_STYLE
from osteocheck.render.terminal import record_view
from osteocheck.words import one_line


def t(text: str, style: str = "") -> Text:
    """Untrusted text as one line of plain text: the glance flows sentences together, so no break may forge a line."""
    return Text(plain(one_line(text)), style=style)


def _grid(rows: list[tuple[Text, Text]]) -> Table:
    grid = Table.grid(padding=(0, 2, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, text in rows:
        grid.add_row(label, text)
    return grid


def _label(text: str, style: str | None = None) -> Text:
    return Text("  " + text, style=LABEL_STYLE.get(text, "yellow") if style is None else style)


def _rows(rows: tuple[Row, ...], style: str | None = None) -> Table:
    return _grid([(_label(r.label, style), t(r.text)) for r in rows])


def _technique(line: TechniqueLine) -> Text:
    text = Text.assemble(t(line.name, "bold"))
    if line.how:
        text.append_text(Text.assemble(": ", t(line.how)))
    if line.not_over:
        text.append_text(Text.assemble(" ", t(f"Not over {line.not_over}.", "bold yellow")))
    return text


class _Techniques:
    """Grouped under their status on a wide terminal; on a narrow one each technique leads with its own."""

    def __init__(self, g: Glance) -> None:
        self.g = g

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        g = self.g
        if options.max_width < NARROW:
            yield from (Text.assemble(_label("excluded"), " ", t(name)) for name in g.excluded)
            for status, lines in (("modify", g.modify), ("safe", g.safe)):
                yield from (Text.assemble(_label(status), " ", _technique(line)) for line in lines)
            return
        rows: list[tuple[Text, Text]] = []
        if g.excluded:
            rows.append((_label("excluded"), t(", ".join(g.excluded))))
        for i, line in enumerate(g.modify):
            rows.append((_label("modify") if i == 0 else Text(""), _technique(line)))
        for i, (where, names) in enumerate(safe_groups(g.safe)):
            text = t(", ".join(names))
            if where:
                text.append_text(Text.assemble(" ", t(f"(not over {where})", "bold yellow")))
            rows.append((_label("safe") if i == 0 else Text(""), text))
        yield _grid(rows)


def _head(g: Glance, plan: Plan) -> list[RenderableType]:
    parts: list[RenderableType] = [
        Text.assemble(
            ("osteocheck plan", "bold"),
            "  proceed: ",
            (PROCEED[g.proceed], PROCEED_STYLE[g.proceed]),
            "  stage: ",
            (g.stage, "bold"),
        )
    ]
    if g.postpone:
        parts.append(Text.assemble((f"{g.postpone_head}: ", "bold red"), t("; ".join(g.postpone))))
    if g.clear:
        where = Text(" · ").join(Text.assemble(t(r.label, "bold red"), " (", t(r.text), ")") for r in g.clear)
        parts.append(Text.assemble(("Physician must clear first: ", "bold red"), where))
    else:
        parts.append(Text("Physician clearance: not required by any rule.", style="green"))
    if plan.profile.name:
        # One line, cut rather than wrapped: the tail of a long name must never start a line of its own.
        parts.append(Text.assemble("client: ", t(plan.profile.name, "bold"), no_wrap=True, overflow="ellipsis"))
    if g.notes:
        parts.append(_rows(g.notes))
    return parts


def glance_view(plan: Plan, knowledge: Knowledge) -> RenderableType:
    g = glance(plan, knowledge)
    steps, pressing = g.assessment
    points = g.self_care[0]
    next_line = f"osteocheck assess ({steps} steps, {pressing} pressing) · osteocheck selfcare ({points} points)"
    parts = [
        *_head(g, plan),
        Text.assemble(("Pressure", "bold underline"), f"  (at most, on the 1–{knowledge.top_pressure} scale)"),
        _rows(g.body),
        Text.assemble(
            ("Techniques", "bold underline"), ("  none over a DO NOT TREAT site", "bold red") if g.untreated else ""
        ),
        _Techniques(g),
        Text("Positions", style="bold underline"),
        _rows(g.positions),
        *record_view(plan),
        _grid(
            [
                (Text("Next", style="bold"), Text(next_line)),
                (
                    Text("Why", style="bold"),
                    Text("add --details for reasons, rules and sources, or osteocheck explain ID"),
                ),
            ]
        ),
        Text(DISCLAIMER, style="dim italic"),
    ]
    return Group(*parts)
