"""Words for people: closest-word hints for every user-facing error, and outside text made one line."""

from __future__ import annotations

from osteocheck.patterns import LazyPattern

# Everything that breaks a line in any convention (and the controls that move the cursor like one).
_BREAKS = LazyPattern("[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
_INVISIBLE = LazyPattern("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or nothing."""
    import difflib  # noqa: PLC0415 - only when there is an error to report

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def decimal_point_hint(value: object) -> str:
    """For a number written with a decimal comma ("-2,5"), how to write it: never read as -2.5 unasked,
    since "2,5" could as well be a list."""
    text = value.strip() if isinstance(value, str) else ""
    whole, comma, part = text.partition(",")
    if comma and whole.lstrip("+-").isdigit() and part.isdigit():
        return f"; write the decimal with a point: {whole}.{part}"
    return ""


def with_article(word: str) -> str:
    """The word with its indefinite article, by its first letter: "an Observation", "a Condition"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def one_line(text: str) -> str:
    """A name or label from outside as one line: breaks become a space, controls and bidi marks go.

    A name holding a newline could otherwise print lines that look like the plan's own
    ("Physician clearance: not required") in every view and document.
    """
    if text.isprintable():  # no control, break or format character: nothing to replace (the usual case)
        return text.strip()
    return _BREAKS.sub(" ", _INVISIBLE.sub("", text)).strip()
