"""DXA T-scores: an Observation, or a component of a DXA panel, and what its value, status, date and
words let it say."""

from __future__ import annotations

import re
from typing import Any

from osteocheck.client.records.fields import dated, describe, earliest, ends, text, words_of
from osteocheck.client.records.findings import Findings
from osteocheck.client.records.modifiers import carried
from osteocheck.client.records.names import MARK, T_SCORE
from osteocheck.engine.stage import classify
from osteocheck.vocabulary import T_SCORE_RANGE
from osteocheck.words import one_line

# A T-score of these statuses counts as read; of any other, only as far as it makes the plan stricter
# (counted outright, it could make the stage milder than the one assumed without it). Not "preliminary":
# R4's "data may be incomplete or unverified".
_FINAL_OBSERVATION = {"final", "amended", "corrected"}


def observation(f: Findings, r: dict[str, Any]) -> None:
    if "component" in r and f.codes.match("observations", r.get("code")) is None and _components(f, r):
        return
    label, entry = f.recognise(r, "observations", r.get("code"))
    if entry is not None:
        _reading(f, r, r, label)
    elif _by_words(f, r, r, label) and f.unrecognised[-1:] == [label]:
        f.unrecognised.pop()


def _by_words(f: Findings, r: dict[str, Any], valued: dict[str, Any], label: str) -> bool:
    """A T-score under a code the map does not know, named by its words ("DXA T-score L1-L4" under a
    clinic's own code), in the osteoporosis range: stage osteoporosis at least. Above it, such a reading
    would make the plan milder on words alone: left as not recognised. Whether it was counted."""
    value = _t_value(valued)
    if (
        value is None
        or classify(value, f.knowledge) != "osteoporosis"
        or text(r.get("status")) in _VOID_OBSERVATION
        or not T_SCORE.search(words_of(valued.get("code")))
    ):
        return False
    why = f"T-score {value:g} named by its words only, so counted only as far as it makes the plan stricter"
    _osteoporosis_at_least(f, f"{label} ({MARK})", f"T-score {value:g}", why)
    return True


def _components(f: Findings, r: dict[str, Any]) -> bool:
    """A DXA panel may give its T-scores as components (R4 Observation.component: a code and a value each)
    rather than as Observations of their own: each the map knows is read as one, with the panel's status,
    dates and modifiers. Whether any was."""
    found = False
    for part in r["component"] if isinstance(r["component"], list) else ():
        concept = part.get("code") if isinstance(part, dict) else None
        if concept is not None and f.codes.match("observations", concept) is not None:
            _reading(f, r, part, f"{describe(r, concept)}, a component")
            found = True
        elif concept is not None:
            found = _by_words(f, r, part, f"{describe(r, concept)}, a component") or found
    return found


def _reading(f: Findings, r: dict[str, Any], valued: dict[str, Any], label: str) -> None:
    """A T-score: `valued` holds its value (the Observation, or a component of it), `r` all else."""
    status = text(r.get("status"))
    value = _t_value(valued)
    modified = ("modifierExtension" in r or "implicitRules" in r) and carried(r)  # read_resource's gate first
    if modified and value is not None and classify(value, f.knowledge) != "osteoporosis":
        # A modifier may say the value is not to be relied on: read as written, a normal reading would make
        # the plan milder than none at all. One in the osteoporosis range is no milder, whatever it says.
        why = f"its value ({_shown(valued)}) comes with a modifier osteocheck cannot read, so counted as osteoporosis"
        _osteoporosis_at_least(f, label, "T-score with a modifier", why)
        return
    if status in _FINAL_OBSERVATION:
        if value is not None:
            if not _outdated(f, r, label, value):
                f.add_t_score(value, label)
            return
        # Fail closed: a T-score the record holds but whose value cannot be read may be in the osteoporosis
        # range, and the plan must not rest on a milder diagnosis beside it (as with no stage at all).
        why = f"its value ({_shown(valued)}) is no T-score osteocheck can read, so counted as osteoporosis"
        _osteoporosis_at_least(f, label, "T-score not read", why)
        return
    said = one_line(status or "not recorded")[:40]
    if status not in _VOID_OBSERVATION and value is not None and classify(value, f.knowledge) == "osteoporosis":
        # Not final, but a measurement all the same: it may only make the stage stricter, never milder.
        why = f"T-score {value:g} of status {said}, so counted only as far as it makes the plan stricter"
        _osteoporosis_at_least(f, label, f"T-score {value:g}, status {said}", why)
        return
    f.set_aside.append(f"{label}: status {said}, value {_shown(valued)}")


def _outdated(f: Findings, r: dict[str, Any], label: str, value: float) -> bool:
    """A T-score above the osteoporosis range, measured longer ago than the map's years for its band (or
    at no known date, or dated after the record's day: a mistyped year), no longer shows the bones are
    above it: set aside, with a note, and never milder than the plan without it. A reading in the
    osteoporosis range counts however old."""
    years = f.codes.t_score_current_for(value) if classify(value, f.knowledge) != "osteoporosis" else None
    if years is None:
        return False
    start, end = ends(r.get("effectivePeriod"))[::-1]
    when, _ = dated(r.get("effectiveDateTime"), r.get("effectiveInstant"), start, end, r.get("issued"), read=earliest)
    if when is not None and when > f.today and (when - f.today).days > 1:  # a day's leeway: its own time zone
        said = f"dated {when.isoformat()}, after the day the record is judged at ({f.today.isoformat()})"
        f.set_aside.append(f"{label}: T-score {value:g}, {said}")
        f.notes.append(f"{label}: T-score {value:g} {said}, so not known to be current and not counted; check its date")
        return True
    if when is not None and (f.current_on - when).days <= years * 365.25:
        return False
    said = f"measured {when.isoformat()}" if when is not None else "with no date"
    later = f.current_on > f.today  # judged for a session after the record's day
    f.set_aside.append(
        f"{label}: T-score {value:g}, {said}: not current" + (f" on the session's day, {f.current_on}" if later else "")
    )
    f.notes.append(
        f"{label}: T-score {value:g} {said}, so not counted: a reading in its range is current for {years:g} "
        f"year{'s' if years != 1 else ''} (1 in 10 older women reach osteoporosis in that time, "
        f"{f.codes.t_score_reference.split(',')[0]})"
        + (f", and the session is on {f.current_on}" if later else "")
        + "; ask for a newer DXA result"
    )
    return True


def _osteoporosis_at_least(f: Findings, label: str, read: str, why: str) -> None:
    """Stage osteoporosis at least, from a T-score the plan cannot take as it stands, and a note to check it."""
    f.add_stage("osteoporosis", label)
    f.used.append(f"{label}: {read}: stage osteoporosis at least")
    f.notes.append(f"{label}: {why}; check the DXA report")


# R4 observation-status: a result that never was, or was withdrawn.
_VOID_OBSERVATION = {"cancelled", "entered-in-error"}
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def _t_value(r: dict[str, Any]) -> float | None:
    """The T-score an Observation states: a Quantity's value, an integer, or a number written as text
    (with a typographic minus, as reports print it); None when it states none plainly, or one no T-score
    can be (a slip in the record, which must not stop the plan). A Quantity "less than" a value is a bound,
    not a T-score: read as the value, "< -1.0" would be normal, and the bones may be far below it."""
    quantity = r.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("comparator") in ("<", "<="):
        return None
    for value in (quantity.get("value") if isinstance(quantity, dict) else None, r.get("valueInteger"),
                  r.get("valueString")):  # fmt: skip
        number = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str) and _NUMBER.fullmatch(written := value.strip().replace("\u2212", "-")):
            number = float(written)
        if number is not None:
            low, high = T_SCORE_RANGE
            return number if low <= number <= high else None  # NaN is in no range
    return None


def _shown(r: dict[str, Any]) -> str:
    quantity = r.get("valueQuantity")
    value = quantity.get("value") if isinstance(quantity, dict) else r.get("valueInteger", r.get("valueString"))
    bound = quantity.get("comparator") if isinstance(quantity, dict) else None
    shown = "no number" if value is None else one_line(repr(value))[:40]
    return f"{one_line(str(bound))[:4]} {shown}" if isinstance(bound, str) else shown
