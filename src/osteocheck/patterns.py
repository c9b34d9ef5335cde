"""Regular expressions compiled on first use.

Compiling a pattern of wide Unicode ranges or many alternatives costs a fraction of a millisecond,
and every command starts afresh: a pattern that most runs never use should not be paid for by them.
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
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)

    def sub(self, replacement: str | Callable[[re.Match[str]], str], text: str) -> str:
        return self.compiled.sub(replacement, text)
