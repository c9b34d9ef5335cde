"""Reading the few FHIR fields osteocheck needs, defensively: a malformed field counts as absent."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Any

from osteocheck.words import one_line


def codings(concept: object) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    codings = concept.get("coding", [])
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def status_code(concept: object) -> str | None:
    for coding in codings(concept):
        if isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def text(value: object) -> str | None:
    """A field that should be a code string; anything else (a list, an object) counts as absent."""
    return value if isinstance(value, str) else None


def words_of(concept: object, coded: list[dict[str, Any]] | None = None) -> str:
    """Every name a CodeableConcept gives itself, once each: its text and each coding's display (most
    records repeat the display as the text; the searches over these words find no more in a copy).
    `coded`: the concept's codings, when the caller has them already."""
    if not isinstance(concept, dict):
        return ""
    text = concept.get("text")
    names = [text] if isinstance(text, str) else []
    for coding in codings(concept) if coded is None else coded:
        display = coding.get("display")
        if isinstance(display, str) and display not in names:
            names.append(display)
    return one_line("; ".join(names))[:500]


def describe(resource: dict[str, Any], concept: object = None, coded: list[dict[str, Any]] | None = None) -> str:
    kind = resource.get("resourceType", "?")
    ident = resource.get("id")
    name = named(concept, coded)
    where = f"{kind}/{ident}" if ident not in (None, "") else f"{kind} (no id)"
    return one_line(where + (f" ({name})" if name else ""))


def named(concept: object, coded: list[dict[str, Any]] | None = None) -> str:
    """What a CodeableConcept calls itself: its text, else a coding's display, else its first system|code."""
    if not isinstance(concept, dict):
        return ""
    name = concept.get("text") or ""
    if not name:
        coded = codings(concept) if coded is None else coded
        name = next((c.get("display") for c in coded if c.get("display")), "") or ""
        if not name:
            name = next((f"{c.get('system')}|{c.get('code')}" for c in coded), "")
    return str(name)


def date(value: object) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def earliest(value: object) -> dt.date | None:
    """The first day a FHIR date or dateTime can mean ("2026-05" starts on 1 May): how old a measurement
    is judged by it, the reading that makes it oldest."""
    if isinstance(value, str) and (len(value) == 4 or (len(value) == 7 and value[4] == "-")):
        value = value + ("-01-01" if len(value) == 4 else "-01")
    return date(value)


def latest(value: object) -> dt.date | None:
    """The last day a FHIR date or dateTime can mean ("2026-05" runs to 31 May, "2026" to 31 December):
    whether an event is recent is judged by it, the reading that keeps it recent longest."""
    if isinstance(value, str) and (len(value) == 4 or (len(value) == 7 and value[4] == "-")):
        try:
            year, month = int(value[:4]), int(value[5:7]) if len(value) == 7 else 12
            return dt.date(year, month, calendar.monthrange(year, month)[1])
        except ValueError:
            return None
    return date(value)


def ends(period: object) -> tuple[object, object]:
    """A Period's end, then its start (an ongoing one has only a start)."""
    return (period.get("end"), period.get("start")) if isinstance(period, dict) else (None, None)


def dated(*values: object, read: Callable[[object], dt.date | None] = latest) -> tuple[dt.date | None, str]:
    """The first of `values` that is a date, as its last day (`latest`; `read=earliest`, its first),
    and how it was written when it gives only a year or a month, else ""."""
    for value in values:
        day = read(value)
        if day is not None:
            return day, (str(value) if len(str(value)) < 10 else "")  # shorter than a day: a year or a month
    return None, ""
