"""The one-screen plan as terminal text without Rich: the everyday view, so it starts in a blink.

The layout of `glance_terminal` (which the full Rich stack draws where this cannot: Windows consoles),
wrapped where Rich wraps: labelled rows hang their wrapped lines under their text, colour only on a
terminal that wants it. Every piece of outside text is one line of plain text before it is wrapped.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from osteocheck.engine.model import Knowledge, Plan
from osteocheck.render.escape import plain
from osteocheck.render.glance import Glance, Row, TechniqueLine, glance, safe_groups
from osteocheck.render.phrases import DISCLAIMER, LABEL_STYLE, NARROW, PROCEED, PROCEED_STYLE, record_lines
from osteocheck.words import one_line

_CODES = {"bold": "1", "dim": "2", "italic": "3", "underline": "4", "red": "31", "green": "32", "yellow": "33",
          "magenta": "35", "cyan": "36"}  # fmt: skip


def _text(value: str) -> str:
    return plain(one_line(value))


class _Writer:
    def __init__(self, width: int, color: bool) -> None:
        self.width = max(width, 20)
        self.color = color
        self.lines: list[str] = []

    def paint(self, text: str, style: str) -> str:
        if not self.color or not style or not text:
            return text
        codes = ";".join(_CODES[s] for s in style.split())
        return f"\x1b[{codes}m{text}\x1b[0m"

    def para(self, parts: list[tuple[str, str]]) -> None:
        """Styled pieces flowed as one paragraph, wrapped at the width (no indent: as Rich wraps Text)."""
        self.lines += self._flow(parts, self.width, "")

    def _flow(self, parts: list[tuple[str, str]], width: int, indent: str) -> list[str]:
        # Wrap the plain text, then colour each wrapped line piece by piece (styles never span a break).
        words = "".join(text for text, _ in parts)
        wrapped = [line.rstrip() for line in _divide(words, width)] or [""]
        spans = [(len(text), style) for text, style in parts]
        out, position = [], 0
        for line in wrapped:
            start = words.index(line, position)
            out.append(indent + self._painted(words, spans, start, start + len(line)))
            position = start + len(line)
        return out

    def _painted(self, words: str, spans: list[tuple[int, str]], start: int, end: int) -> str:
        if not self.color:
            return words[start:end]
        pieces, offset = [], 0
        for length, style in spans:
            low, high = max(start, offset), min(end, offset + length)
            if low < high:
                pieces.append(self.paint(words[low:high], style))
            offset += length
        return "".join(pieces)

    def rows(self, rows: list[tuple[str, str, list[tuple[str, str]]]]) -> None:
        """(label, its style, text pieces) as two columns; a wrapped line hangs under its text."""
        if not rows:
            return
        column = max(cells(label) for label, _, _ in rows)
        room = max(self.width - column - 2, 10)
        for label, style, parts in rows:
            flowed = self._flow(parts, room, " " * (column + 2))
            head = flowed[0][column + 2 :]
            pad = " " * (column - cells(label))
            self.lines.append(
                f"{self.paint(label, style)}{pad}  {head}" if label.strip() else " " * (column + 2) + head
            )
            self.lines += flowed[1:]

    def heading(self, title: str, extra: tuple[str, str] = ("", "")) -> None:
        self.para([(title, "bold underline"), extra])


_WORD = re.compile(r"\s*\S+\s*")


def _divide(text: str, width: int) -> list[str]:
    """Lines of at most `width` columns, broken where Rich breaks them (`rich._wrap.divide_line`): at
    word starts, and a word longer than a line folded, its last piece starting the next line."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        length = cells(word.rstrip())
        if width - offset >= length:
            offset += cells(word)
        elif length > width:
            pieces = _chop(word, width)
            for i, piece in enumerate(pieces):
                if start:
                    breaks.append(start)
                if i == len(pieces) - 1:
                    offset = cells(piece)
                else:
                    start += len(piece)
        elif offset and start:
            breaks.append(start)
            offset = cells(word)
    bounds = [0, *breaks, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _chop(word: str, width: int) -> list[str]:
    pieces, current, used = [], "", 0
    for ch in word:
        size = cells(ch)
        if used + size > width and current:
            pieces.append(current)
            current, used = "", 0
        current += ch
        used += size
    return [*pieces, current]


def cells(text: str) -> int:
    """Columns a text takes on a terminal (wide characters two, combining marks none)."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, width: int) -> str:
    """One line of at most `width` columns, with an ellipsis when cut (a long name never wraps)."""
    if cells(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        size = cells(ch)
        if used + size > width - 1:
            break
        out.append(ch)
        used += size
    return "".join(out) + " " * (width - 1 - used) + "…"  # a wide character that does not fit leaves a space


def _label(text: str, style: str | None = None) -> tuple[str, str, str]:
    return "  " + text, LABEL_STYLE.get(text, "yellow") if style is None else style, ""


def _technique(line: TechniqueLine) -> list[tuple[str, str]]:
    parts = [(_text(line.name), "bold")]
    if line.how:
        parts.append((": " + _text(line.how), ""))
    if line.not_over:
        parts.append((" " + _text(f"Not over {line.not_over}."), "bold yellow"))
    return parts


def _technique_rows(w: _Writer, g: Glance) -> None:
    if w.width < NARROW:  # each technique leads with its own status, as the narrow Rich view does
        for name in g.excluded:
            w.para([("  excluded", "bold red"), (" " + _text(name), "")])
        for status, lines in (("modify", g.modify), ("safe", g.safe)):
            for line in lines:
                w.para([("  " + status, LABEL_STYLE[status]), (" ", ""), *_technique(line)])
        return
    rows: list[tuple[str, str, list[tuple[str, str]]]] = []
    if g.excluded:
        rows.append(("  excluded", "bold red", [(_text(", ".join(g.excluded)), "")]))
    for i, line in enumerate(g.modify):
        rows.append(("  modify" if i == 0 else "", "yellow", _technique(line)))
    for i, (where, names) in enumerate(safe_groups(g.safe)):
        parts = [(_text(", ".join(names)), "")]
        if where:
            parts.append((" " + _text(f"(not over {where})"), "bold yellow"))
        rows.append(("  safe" if i == 0 else "", "green", parts))
    w.rows(rows)


def _simple(rows: tuple[Row, ...], style: str | None = None) -> list[tuple[str, str, list[tuple[str, str]]]]:
    out = []
    for r in rows:
        label, chosen, _ = _label(r.label, style)
        out.append((label, chosen, [(_text(r.text), "")]))
    return out


def glance_text(plan: Plan, knowledge: Knowledge, *, width: int, color: bool) -> str:
    g = glance(plan, knowledge)
    w = _Writer(width, color)
    w.para([("osteocheck plan", "bold"), ("  proceed: ", ""), (PROCEED[g.proceed], PROCEED_STYLE[g.proceed]),
            ("  stage: ", ""), (g.stage, "bold")])  # fmt: skip
    if g.postpone:
        w.para([(f"{g.postpone_head}: ", "bold red"), (_text("; ".join(g.postpone)), "")])
    if g.clear:
        parts: list[tuple[str, str]] = [("Physician must clear first: ", "bold red")]
        for i, r in enumerate(g.clear):
            parts += [(" · " if i else "", ""), (_text(r.label), "bold red"), (f" ({_text(r.text)})", "")]
        w.para(parts)
    else:
        w.para([("Physician clearance: not required by any rule.", "green")])
    if plan.profile.name:
        name = _cut(_text(plan.profile.name), w.width - len("client: "))
        w.lines.append("client: " + w.paint(name, "bold"))
    w.rows(_simple(g.notes))
    w.heading("Pressure", (f"  (at most, on the 1–{knowledge.top_pressure} scale)", ""))
    w.rows(_simple(g.body))
    w.heading("Techniques", ("  none over a DO NOT TREAT site", "bold red") if g.untreated else ("", ""))
    _technique_rows(w, g)
    w.heading("Positions")
    w.rows(_simple(g.positions))
    if plan.record is not None:
        w.heading(f"From the record {_text(plan.record.file)}")
        styles = {"used": "green", "note": "magenta", "set aside": "dim", "not recognised": "yellow"}
        for title, line in record_lines(plan.record):
            w.para([(f"{title}: ", styles.get(title, "dim")), (_text(line), "")])
    steps, pressing = g.assessment
    next_line = (
        f"osteocheck assess ({steps} steps, {pressing} pressing) · osteocheck selfcare ({g.self_care[0]} points)"
    )
    w.rows([
        ("Next", "bold", [(next_line, "")]),
        ("Why", "bold", [("add --details for reasons, rules and sources, or osteocheck explain ID", "")]),
    ])  # fmt: skip
    w.para([(DISCLAIMER, "dim italic")])
    return "".join(line.rstrip() + "\n" for line in w.lines)
