"""Escaping of untrusted text (profiles, names, knowledge files) for each output format.

HTML is escaped by Jinja2's autoescaping after `plain` has removed control characters.
"""

from __future__ import annotations

from osteocheck.patterns import LazyPattern

# C0 controls except tab and newline, DEL, and the C1 range (which holds CSI, OSC, ...).
_CONTROL = LazyPattern(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Unicode bidi marks, embeddings, overrides and isolates reorder what a reader sees; tag characters hide text.
_BIDI = LazyPattern("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")
_MD_SPECIAL = {ord(c): "\\" + c for c in "\\`*_{}[]<>#|~&"}  # each backslash-escaped (str.translate)
# Characters that start a list or heading only at the beginning of a line.
_MD_LINE_START = LazyPattern(r"^(\s*)([-+=]|\d+(?=[.)]))")


def plain(text: str) -> str:
    """Text with terminal control codes and bidi overrides removed.

    On a terminal this goes into `rich.text.Text`, never into markup, so brackets stay literal.
    """
    if text.isprintable():  # every character removed below is a control (Cc) or format (Cf) character
        return text
    return _BIDI.sub("", _CONTROL.sub("", text))


# Raw in JSON strings, these still act on a terminal or a reader's display: C1 controls (CSI, OSC),
# bidi controls, line and paragraph separators. json escapes C0 controls itself.
_JSON_UNSAFE = LazyPattern("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_text(serialized: str) -> str:
    """Serialized JSON with every unsafe character written as a \\u escape (outside strings there are none)."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", serialized)


def markdown(text: str, *, line_start: bool = False) -> str:
    """Safe as Markdown inline text: every special character backslash-escaped, no raw HTML.

    `line_start`: the text begins a line, where `-`, `+` or `1.` would start a list.
    """
    escaped = " ".join(plain(text).split()).translate(_MD_SPECIAL)
    if not line_start:
        return escaped
    return _MD_LINE_START.sub(
        lambda m: m.group(1) + m.group(2) + "\\" if m.group(2).isdigit() else m.group(1) + "\\" + m.group(2), escaped
    )
