"""Closest-word hints for every user-facing error: a typo is named, never silently ignored."""

from __future__ import annotations


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or nothing."""
    import difflib  # noqa: PLC0415 - only when there is an error to report

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
