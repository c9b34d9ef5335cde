"""A table that becomes a list on a narrow terminal, so no column (a status above all) is ever squeezed away."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table
from rich.text import Text

from osteocheck.render.phrases import NARROW


class FittedTable:
    """Rich's Table when it fits; otherwise each row as its first cell with the others indented beneath it."""

    def __init__(self, *, title: str | None = None, min_width: int = NARROW, **options: Any) -> None:
        self.table = Table(title=title, **options)
        self.title = title
        self.min_width = min_width
        self.headers: list[str] = []
        self.rows: list[tuple[RenderableType, ...]] = []

    def add_column(self, header: str, **options: Any) -> None:
        self.headers.append(header)
        self.table.add_column(header, **options)

    def add_row(self, *cells: RenderableType) -> None:
        self.rows.append(cells)
        self.table.add_row(*cells)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        if options.max_width >= self.min_width:
            yield self.table
            return
        if self.title:
            yield Text(self.title, style="italic")
        for first, *rest in self.rows:
            headers = self.headers[1:]
            if rest and isinstance(first, Text) and isinstance(rest[0], Text) and len(first.plain) <= 12:
                # A status or a site leads each name of its row, so no name is ever shown without it.
                names = rest[0].split("\n")
                for name in names[:-1]:
                    yield Text.assemble(first, " ", name)
                first = Text.assemble(first, " ", names[-1])
                headers, rest = headers[1:], rest[1:]
            yield first
            for header, cell in zip(headers, rest, strict=False):
                if isinstance(cell, Text) and not cell.plain.strip():
                    continue
                label = Text(f"  {header}: ", style="dim") if header else Text("  ")
                yield Text.assemble(label, cell) if isinstance(cell, Text) else cell
