"""Strict JSON: a key given twice is an error, never silently the last value."""

from __future__ import annotations

import json


def no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A `json.loads` hook: JSON allows repeated keys and keeps the last; a profile must not."""
    out = dict(pairs)
    if len(out) != len(pairs):  # the rare case: find the key to name
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key '{key}'")
            seen.add(key)
    return out


# One decoder for every row: json.loads with a hook would build a new one per call.
DECODER = json.JSONDecoder(object_pairs_hook=no_duplicates)
