"""Output on a terminal or pipe that is not UTF-8 (LANG=C on some systems, latin-1, cp1252, ascii).

Characters the encoding cannot hold degrade instead of failing: typographic marks
and box drawing become their ASCII look-alikes, anything else a \\u escape (which
JSON reads back as the same character). A plan is never lost to an encoding error.
"""

from __future__ import annotations

import codecs
import sys
import unicodedata

HANDLER = "osteocheck-degrade"
_LOOK_ALIKES = {
    "\u2013": "-", "\u2014": "--", "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2026": "...", "\u2022": "*", "\u00b7": "*", "\u2264": "<=", "\u2265": ">=", "\u2192": "->", "\u00d7": "x",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2713": "v", "\u2717": "x", "\u25cf": "*", "\u25cb": "o",
    "\u2610": "[ ]", "\u2611": "[x]", "\u2612": "[x]",
}  # fmt: skip


def _degrade(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    for char in error.object[error.start : error.end]:
        out.append(_LOOK_ALIKES.get(char) or _box(char) or _escape(char))
    return "".join(out), error.end


def _box(char: str) -> str | None:
    if not "\u2500" <= char <= "\u257f":
        return None
    name = unicodedata.name(char, "")
    if "HORIZONTAL" in name and "VERTICAL" not in name:
        return "-"
    if "VERTICAL" in name and "HORIZONTAL" not in name:
        return "|"
    return "+"


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def degrade_unencodable_output() -> None:
    """Switch stdout and stderr to the degrading handler when their encoding is not UTF-8."""
    codecs.register_error(HANDLER, _degrade)
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        if codecs.lookup(encoding).name not in ("utf-8", "utf-16", "utf-32") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=HANDLER)
