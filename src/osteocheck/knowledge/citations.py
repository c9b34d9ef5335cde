"""Sources and the quotes that cite them: every entry's basis, and every quote verbatim in its source file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from osteocheck.engine.model import Basis, Source
from osteocheck.errors import Problem
from osteocheck.knowledge.report import DataPath, Reporter
from osteocheck.parsing.located import Document
from osteocheck.words import suggest

_SPACE = re.compile(r"\s+")


class Citations:
    """The declared sources, what cites them, and the check that each quote stands in its file."""

    def __init__(self, data: dict[str, Any], report: Reporter) -> None:
        self.report = report
        self.sources: dict[str, dict[str, Any]] = {}
        self.source_dirs: dict[str, Path] = {}  # a source's file is relative to the file declaring it
        self.cited: list[tuple[Document, DataPath, Source]] = []
        self.used: set[str] = set()
        for i, s in enumerate(data.get("sources", [])):
            if s["id"] in self.sources:
                report.error(("sources", i, "id"), f"duplicate source id '{s['id']}'")
            self.sources[s["id"]] = s
            self.source_dirs[s["id"]] = Path(report.locate(("sources", i))[0].file).parent

    def basis(self, entry: dict[str, Any], path: DataPath) -> Basis:
        """What an entry rests on: its source and quote, and its rationale when it is inferred."""
        src = entry["source"]
        meta = self.sources.get(src["ref"])
        if meta is None:
            self.report.error(
                (*path, "source", "ref"),
                f"unknown source '{src['ref']}'{suggest(src['ref'], list(self.sources))}",
            )
            meta = {"title": src["ref"]}
        else:
            self.used.add(src["ref"])
        source = Source(ref=src["ref"], title=meta["title"], quote=src["quote"])
        self.cited.append((*self.report.locate((*path, "source", "quote")), source))
        inferred = entry.get("basis") == "inferred"
        rationale = entry.get("rationale")
        if inferred and not rationale:  # an error: the plan would show an inference it cannot explain
            self.report.error(
                (*path, "basis"), "an inferred entry needs a 'rationale' saying why it follows from its source"
            )
        if rationale and not inferred:
            self.report.warn((*path, "rationale"), "a rationale is given but 'basis' is not 'inferred'")
        return Basis(source=source, inference=(rationale or "inferred") if inferred else None)

    def unused(self, data: dict[str, Any]) -> None:
        for i, s in enumerate(data.get("sources", [])):
            if s["id"] not in self.used:
                self.report.warn(("sources", i, "id"), f"source '{s['id']}' is cited by no entry")

    def check_quotes(self) -> list[Problem]:
        """Each quote must stand verbatim (white space folded) in the file its source names."""
        problems: list[Problem] = []
        texts: dict[Path, str | None] = {}
        for doc, path, source in self.cited:
            meta = self.sources.get(source.ref)
            if not meta or "file" not in meta:
                continue
            file = self.source_dirs[source.ref] / meta["file"]
            if file not in texts:
                try:
                    texts[file] = fold(file.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    texts[file] = None
                    problems.append(
                        doc.problem(path, f"source file {meta['file']} cannot be read: its quotes cannot be checked")
                    )
            text = texts[file]
            if text is None:
                continue
            quote = fold(source.quote)
            if quote not in text:
                problems.append(doc.problem(path, f"quote not found in source file {meta['file']}"))
            elif not _whole_words(quote, text):
                problems.append(
                    doc.problem(
                        path, f"quote begins or ends inside a word of source file {meta['file']}: quote whole words"
                    )
                )
        return problems


def _whole_words(quote: str, text: str) -> bool:
    """Whether the quote stands somewhere in the text with no letter or digit of a word cut off at either end
    ("sis (rounded back" is no quotation of "Kyphosis (rounded back)"). A search, not a pattern: every load
    checks every quote."""
    at = text.find(quote)
    while at >= 0:
        end = at + len(quote)
        cut_before = at > 0 and _wordy(quote[0]) and _wordy(text[at - 1])
        cut_after = end < len(text) and _wordy(quote[-1]) and _wordy(text[end])
        if not cut_before and not cut_after:
            return True
        at = text.find(quote, at + 1)
    return False


def _wordy(char: str) -> bool:
    return char.isalnum() or char == "_"


def fold(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
