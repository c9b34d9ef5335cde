"""Client profiles: plain data (a file, flags, a batch row) -> a validated Profile.

Strict by design: an unknown key, a wrong type or an unknown site is an error
that names the bad value and suggests the closest valid one. Nothing is
silently ignored, since a typo in a risk factor must never yield a quieter plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from osteocheck.engine.model import Knowledge, Profile, kept_for_the_last
from osteocheck.engine.stage import stage_of
from osteocheck.errors import ProfileError
from osteocheck.vocabulary import STAGES, T_SCORE_RANGE, label
from osteocheck.words import decimal_point_hint, one_line, suggest

Raw = Mapping[str, object]


def merge(base: Raw, extra: Raw, *, origin: str, usage: bool = True, incoming: str = "") -> dict[str, object]:
    """`extra` (flags, or `incoming` file) added to `base` (a file): lists joined, flags set.

    A value that contradicts the base is an error, never a silent override.
    """
    merged = dict(base)
    errors = []
    for key, value in extra.items():
        if isinstance(value, list):
            old = base.get(key) or []
            merged[key] = [*old, *value] if isinstance(old, list) else value
        elif isinstance(value, bool):
            # a set flag stays set; a wrong type in the file is kept so that build() reports it
            merged[key] = value if base.get(key) in (None, False) else base[key]
        elif key in base and base[key] != value:
            said = f"{key}: {value} in {incoming}" if incoming else f"{label(key, usage=True)} {value}"
            errors.append(f"{said} contradicts {key}: {base[key]} in {origin}; change one of them")
        else:
            merged[key] = value
    if errors:
        raise ProfileError(_bounded(errors), usage=usage)
    return merged


def build(raw: Raw, knowledge: Knowledge, *, usage: bool, origin: str = "") -> Profile:
    """Validate plain data into a Profile; every problem is reported at once."""
    where = f"{origin}: " if origin else ""
    kind = raw.get("resourceType")
    if isinstance(kind, str):  # one line for the mistake, not one per key of the resource
        raise ProfileError(
            (
                f"{where}this is a FHIR {one_line(kind)[:40]}, not a profile; a record is read as FHIR "
                "(plan --fhir FILE, batch --fhir-ndjson DIR, api.plan(bundle=...))",
            ),
            usage=usage,
        )
    errors: list[str] = []
    values: dict[str, object] = {}
    facts: list[tuple[str, tuple[str, ...]]] = []
    sites, kinds, keys, known = _vocabulary(knowledge)
    for key, value in raw.items():
        if key not in known:
            hint = suggest(key, keys) if len(errors) < MAX_MESSAGES and isinstance(key, str) else ""  # the shown
            errors.append(f"{where}unknown profile key '{key}'{hint}; allowed: {', '.join(keys)}")
            continue
        name = label(key, usage=usage)
        if key == "stage":
            if value is None:
                continue
            if isinstance(value, str) and (folded := value.strip().lower()) in STAGES:  # any case, as sites take it
                value = folded
            if value not in STAGES:
                hint = suggest(value, STAGES) if isinstance(value, str) else ""
                errors.append(f"{where}{name}: '{value}' is not a stage{hint}; allowed: {', '.join(STAGES)}")
                continue
        elif key == "t_score":
            if value is None:
                continue
            problem = _t_score_problem(value)
            if problem:
                errors.append(f"{where}{name}: {problem}")
                continue
            value = float(value)  # type: ignore[arg-type]
        elif key in kinds and not kinds[key]:
            if isinstance(value, list) and usage:
                errors.append(f"{where}{name}: a yes/no fact takes no site; give it as {name}")
            elif not isinstance(value, bool):
                errors.append(f"{where}{name}: expected true or false, found {value!r}")
            elif value:
                facts.append((key, ()))
            continue
        elif key in kinds or key == "cleared":
            if value is True and usage:
                errors.append(f"{where}{name}: a per-site fact needs its site: --fact {key}=SITE")
                continue
            checked = _sites(value, sites, f"{where}{name}", errors)
            if checked is None:
                continue
            if key != "cleared":
                if checked:
                    facts.append((key, checked))
                continue
            value = checked
        elif key in ("name", "id"):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                errors.append(f"{where}{name}: expected text, found {value!r}")
                continue
            value = one_line(str(value))  # single-line wherever shown: a newline could forge plan lines
            if not value:
                continue
        values[key] = value
    if errors:
        raise ProfileError(_bounded(errors), usage=usage)
    profile = Profile(**values, facts=tuple(sorted(facts)))  # type: ignore[arg-type]
    stage_of(profile, knowledge, usage=usage, explain=False)  # a contradiction is caught here, before any plan
    return profile


@kept_for_the_last
def _vocabulary(knowledge: Knowledge) -> tuple[tuple[str, ...], dict[str, bool], tuple[str, ...], frozenset[str]]:
    """Sites, fact kinds and profile keys of a knowledge, worked out once for a batch of rows."""
    keys = profile_keys(knowledge)
    return knowledge.site_ids, {f.id: f.per_site for f in knowledge.facts}, keys, frozenset(keys)


def profile_keys(knowledge: Knowledge) -> tuple[str, ...]:
    """Every key a profile may hold with this knowledge: the contract's own and each declared fact."""
    return ("stage", "t_score", *(f.id for f in knowledge.facts), "cleared", "name", "id")


def _t_score_problem(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected a number, found {value!r}{decimal_point_hint(value)}"
    low, high = T_SCORE_RANGE
    if not math.isfinite(value) or not low <= value <= high:
        return f"{value} is out of range; a T-score lies between {low:g} and {high:g}"
    return ""


def _sites(value: object, sites: tuple[str, ...], name: str, errors: list[str]) -> tuple[str, ...] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        errors.append(f"{name}: expected a list of sites, found {value!r}")
        return None
    found = set()
    # The same forms everywhere (flags, files, intake, batch): any case, several sites split by , or ;
    if not all(v in sites for v in value):  # (a site as it is spelt needs no splitting: the usual case)
        value = [s for v in value for s in _split_sites(v)]
    for site in value:
        if not isinstance(site, str) or site not in sites:
            hint = suggest(site, sites) if isinstance(site, str) and len(errors) < MAX_MESSAGES else ""
            errors.append(f"{name}: unknown site '{site}'{hint}; allowed: {', '.join(sites)}")
        else:
            found.add(site)
    return tuple(s for s in sites if s in found)


MAX_MESSAGES = 10


def _split_sites(value: object) -> list[object]:
    if not isinstance(value, str):
        return [value]
    parts = [p.strip().lower() for p in value.replace(";", ",").split(",")]
    return [p for p in parts if p] or [value]


def _bounded(errors: list[str]) -> tuple[str, ...]:
    """The first few problems and a count: 100,000 unknown sites must not become 100,000 lines."""
    if len(errors) <= MAX_MESSAGES:
        return tuple(errors)
    return (*errors[:MAX_MESSAGES], f"... and {len(errors) - MAX_MESSAGES:,} more problem(s) like these")
