"""Regular expressions compiled on first use, and a screen of the literal text every match holds.

Compiling a pattern of wide Unicode ranges or many alternatives costs a fraction of a millisecond,
and every command starts afresh: a pattern that most runs never use should not be paid for by them.
Searching a dozen case-blind patterns costs tens of microseconds a label, and most labels hold
none of the words they look for: one search for those words (a `Screen`) says so first.
"""

from __future__ import annotations

import re
from collections.abc import Callable


class LazyPattern:
    """`re.compile(pattern, flags)`, done the first time it is used."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = pattern
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def source(self) -> str:
        return self._source

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
            # From now on `search` and `sub` are the compiled pattern's own (instance attributes come
            # before methods): a record's labels go through dozens of searches a call.
            vars(self).update(search=self._compiled.search, sub=self._compiled.sub)
        return self._compiled

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)

    def sub(self, replacement: str | Callable[[re.Match[str]], str], text: str) -> str:
        return self.compiled.sub(replacement, text)


def stems(*patterns: str) -> frozenset[str]:
    """Text, case-folded, of which every match of any of `patterns` (compiled case-blind) holds at least one.

    Each alternative gives the literal text it starts with (after any `\\b`), or, when it starts with
    a group, the stems of that group's alternatives. A pattern whose alternative starts with no
    literal text raises ValueError: such a pattern cannot be screened this way, and must not be.
    """
    found: set[str] = set()
    for pattern in patterns:
        for alternative in _alternatives(pattern):
            found |= _stems_of(alternative)
    return frozenset(found)


_Tree = dict[str, "_Tree"]


class Screen:
    """The literal text every match of some patterns holds (their `stems`), searched for in one pass.

    `may_hold(text)` is False only when no pattern can match `text` case-blind. Case-folding maps every
    character that matches an ASCII letter case-blind onto that letter, except the Turkish dotted and
    dotless I, which are mapped first. The stems are searched for as one expression that branches
    letter by letter (compiled on first use), which is twice as fast as a test per stem.
    """

    def __init__(self, *patterns: str) -> None:
        self.stems = stems(*patterns)
        self._search: Callable[[str], re.Match[str] | None] | None = None

    def may_hold(self, text: str) -> bool:
        if self._search is None:
            self._search = re.compile(_branching(self.stems)).search
        return self._search(fold(text)) is not None


def fold(text: str) -> str:
    """`text` case-folded so that a case-sensitive search of lower-case ASCII words finds what a case-blind
    one finds in `text` (and a little more, where folding spells a letter out: "ﬁ" as "fi")."""
    return text.replace("İ", "i").replace("ı", "i").casefold()


def _branching(words: frozenset[str]) -> str:
    """An expression matching where any of `words` begins, as a tree of their letters. A word that
    another begins with ends the search there: the longer one adds nothing to "any of them"."""
    tree: _Tree = {}
    for word in words:
        node = tree
        for letter in word:
            node = node.setdefault(letter, {})
        node[""] = {}

    def branch(node: _Tree) -> str:
        if "" in node:
            return ""
        ways = [re.escape(letter) + branch(rest) for letter, rest in sorted(node.items())]
        return ways[0] if len(ways) == 1 else "(?:" + "|".join(ways) + ")"

    return branch(tree)


_QUANTIFIERS = ("?", "*", "{")  # after a literal, they make its last character optional


def _alternatives(pattern: str) -> list[str]:
    """The pattern's top-level alternatives (split at `|` outside groups and classes)."""
    parts, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _stems_of(alternative: str) -> set[str]:
    text = alternative
    while text.startswith("\\b"):
        text = text[2:]
    if text.startswith("("):
        end = _closing(text)
        inner = text[1:end]
        if inner.startswith("?:"):
            inner = inner[2:]
        elif inner.startswith("?"):
            raise ValueError(f"cannot screen {alternative!r}: it starts with a lookaround or flag group")
        if text[end + 1 : end + 2] in _QUANTIFIERS:
            raise ValueError(f"cannot screen {alternative!r}: it starts with an optional group")
        return {stem for branch in _alternatives(inner) for stem in _stems_of(branch)}
    run = ""
    for c in text:
        if not (c.isascii() and (c.isalnum() or c in " -")):
            break
        run += c
    if text[len(run) : len(run) + 1] in _QUANTIFIERS:
        run = run[:-1]
    if len(run) < 3:
        raise ValueError(f"cannot screen {alternative!r}: it starts with no literal text")
    return {run.casefold()}


def _closing(text: str) -> int:
    depth, i = 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0:
            return i
        i += 1
    raise ValueError(f"unbalanced group in {text!r}")
