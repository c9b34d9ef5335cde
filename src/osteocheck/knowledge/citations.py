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
                problems.append(doc.problem(path, f"quote not found in source file {meta['file']}{parts(quote, text)}"))
            elif not _whole_words(quote, text):
                problems.append(
                    doc.problem(
                        path, f"quote begins or ends inside a word of source file {meta['file']}: quote whole words"
                    )
                )
        return problems


_SHOWN = 30  # characters of the quote and of the source shown either side of where they part
_LEAST = 12  # a shorter stretch in common says nothing of where the quote came from


def parts(quote: str, text: str) -> str:
    """Where a quote that is not in its source parts from it, for the author to mend: the longest start of the
    quote that stands in the source, else the longest end, cut where a word ends. Runs only on a quote not
    found."""
    found = _common_start(quote, text)
    if found:
        cut, at = found
        return (
            f': it follows the source as far as "{_clip(quote[:cut].rstrip(), left=True)}", then reads '
            f'"{_clip(quote[cut:].lstrip())}" where the source reads "{_clip(text[at:].lstrip())}"'
        )
    found = _common_start(quote[::-1], text[::-1])  # the same, from the end
    if found:
        cut, at = len(quote) - found[0], len(text) - found[1]
        before = f'"{_clip(text[:at].rstrip(), left=True)}"' if text[:at].strip() else "nothing: the file begins there"
        return (
            f': it ends as the source does from "{_clip(quote[cut:].lstrip())}", after '
            f'"{_clip(quote[:cut].rstrip(), left=True)}" where the source has {before}'
        )
    return ": no stretch of it stands in the source; copy the sentence from the source file"


def _common_start(quote: str, text: str) -> tuple[int, int] | None:
    """How much of the quote's start stands in the text, back to a word's end, and where the text goes on."""
    n = _longest(quote, text)
    if n < _LEAST:
        return None
    at = text.find(quote[:n]) + n
    goes_on = n < len(quote) and (_wordy(quote[n]) or (at < len(text) and _wordy(text[at])))
    if goes_on and _wordy(quote[n - 1]):  # the stretch ends inside a word of the quote or the source
        back = n - quote.rfind(" ", 0, n) - 1
        if back < n:
            return n - back, at - back
    return n, at


def _longest(quote: str, text: str) -> int:
    """The largest n whose first n characters of the quote stand in the text (so do any fewer: a search by
    halves)."""
    low, high = 0, len(quote)
    while low < high:
        mid = (low + high + 1) // 2
        if quote[:mid] in text:
            low = mid
        else:
            high = mid - 1
    return low


def _clip(text: str, *, left: bool = False) -> str:
    if len(text) <= _SHOWN:
        return text
    return "…" + text[-_SHOWN:] if left else text[:_SHOWN] + "…"


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
