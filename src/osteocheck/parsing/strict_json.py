"""Strict JSON: a key given twice is an error, never silently the last value."""

from __future__ import annotations


def no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A `json.loads` hook: JSON allows repeated keys and keeps the last; a profile must not."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key '{key}'")
        out[key] = value
    return out
