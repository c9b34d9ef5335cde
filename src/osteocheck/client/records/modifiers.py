"""Modifier extensions and implicit rules: R4 requires a reader to check for both, and osteocheck knows none."""

from __future__ import annotations

from typing import Any

from osteocheck.client.records.fields import describe
from osteocheck.client.records.findings import Findings
from osteocheck.words import one_line


def modified(f: Findings, r: dict[str, Any]) -> None:
    """R4 requires a reader to check for modifier extensions and implicit rules: they may change what a
    resource means (say, that a drug was not given, or a condition is a relative's). osteocheck knows none:
    the resource is read as written, which counts what it names, and the therapist is told to check it
    (a T-score above the osteoporosis range, which written would make the plan milder, counts as
    osteoporosis: `observations.observation`). A Medication is checked where a statement uses it, once
    however many do."""
    said = carried(r)
    if said:
        name = describe(r, r.get("code") or r.get("medicationCodeableConcept"))
        note = (
            f"{name}: carries {' and '.join(said)}, which osteocheck cannot read and which may change what it says; "
            "read as written: check the record"
        )
        if note not in f.notes:
            f.notes.append(note)


def carried(r: dict[str, Any]) -> list[str]:
    """The modifiers a resource carries, in words: malformed, each still says the resource means more than
    it writes; null says nothing."""
    said = []
    extensions = r.get("modifierExtension")
    if extensions is not None:
        urls = (
            [one_line(x["url"])[:80] for x in extensions if isinstance(x, dict) and isinstance(x.get("url"), str)]
            if isinstance(extensions, list)
            else []
        )
        said.append(f"a modifier extension ({', '.join(urls[:3]) or 'no URL'}{', ...' if len(urls) > 3 else ''})")
    rules = r.get("implicitRules")
    if rules is not None:
        said.append(
            f"implicit rules ({one_line(rules)[:80] if isinstance(rules, str) and rules.strip() else 'not a URI'})"
        )
    return said
