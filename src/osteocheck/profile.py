"""Client profiles: plain data (a file, flags, a batch row) -> a validated Profile.

Strict by design: an unknown key, a wrong type or an unknown site is an error
that names the bad value and suggests the closest valid one. Nothing is
silently ignored, since a typo in a risk factor must never yield a quieter plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from osteocheck.errors import ProfileError
from osteocheck.facts import BOOL_FACTS, SITE_FACTS, STAGES, T_SCORE_RANGE
from osteocheck.model import Knowledge, Profile
from osteocheck.schemacheck import suggest

LIST_KEYS: tuple[str, ...] = (*SITE_FACTS, "cleared")
PROFILE_KEYS: tuple[str, ...] = ("stage", "t_score", *BOOL_FACTS, *LIST_KEYS, "name", "id")
FLAGS: dict[str, str] = {
    "stage": "--stage",
    "t_score": "--t-score",
    "fresh_fractures": "--fresh-fracture",
    "open_wounds": "--open-wound",
    "active_infections": "--active-infection",
    "post_surgical": "--post-surgical",
    "cleared": "--cleared",
    **{fact: "--" + fact.replace("_", "-") for fact in BOOL_FACTS},
}
Raw = Mapping[str, object]


def label(key: str, *, usage: bool) -> str:
    """How to name a profile key in a message: its flag on the command line, else its key."""
    return FLAGS.get(key, key) if usage else f"'{key}'"


def merge(base: Raw, extra: Raw, *, origin: str, usage: bool = True, incoming: str = "") -> dict[str, object]:
    """`extra` (flags, or `incoming` file) added to `base` (a file): lists joined, flags set.

    A value that contradicts the base is an error, never a silent override.
    """
    merged = dict(base)
    errors = []
    for key, value in extra.items():
        if key in LIST_KEYS:
            old = base.get(key) or []
            merged[key] = [*old, *value] if isinstance(old, list) and isinstance(value, list) else value
        elif key in BOOL_FACTS:
            # a set flag stays set; a wrong type in the file is kept so that build() reports it
            merged[key] = value if base.get(key) in (None, False) else base[key]
        elif key in base and base[key] != value:
            said = f"{key}: {value} in {incoming}" if incoming else f"{label(key, usage=True)} {value}"
            errors.append(f"{said} contradicts {key}: {base[key]} in {origin}; change one of them")
        else:
            merged[key] = value
    if errors:
        raise ProfileError(tuple(errors), usage=usage)
    return merged


def build(raw: Raw, knowledge: Knowledge, *, usage: bool, origin: str = "") -> Profile:
    """Validate plain data into a Profile; every problem is reported at once."""
    where = f"{origin}: " if origin else ""
    errors: list[str] = []
    values: dict[str, object] = {}
    sites = knowledge.site_ids
    for key, value in raw.items():
        if key not in PROFILE_KEYS:
            errors.append(
                f"{where}unknown profile key '{key}'{suggest(key, PROFILE_KEYS)}; allowed: {', '.join(PROFILE_KEYS)}"
            )
            continue
        name = label(key, usage=usage)
        if key == "stage":
            if value is None:
                continue
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
        elif key in BOOL_FACTS:
            if not isinstance(value, bool):
                errors.append(f"{where}{name}: expected true or false, found {value!r}")
                continue
        elif key in LIST_KEYS:
            checked = _sites(value, sites, f"{where}{name}", errors)
            if checked is None:
                continue
            value = checked
        elif key in ("name", "id"):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                errors.append(f"{where}{name}: expected text, found {value!r}")
                continue
            value = str(value)
        values[key] = value
    if errors:
        raise ProfileError(tuple(errors), usage=usage)
    profile = Profile(**values)  # type: ignore[arg-type]
    stage_of(profile, knowledge, usage=usage)  # a contradiction is caught here, before any plan
    return profile


def _t_score_problem(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected a number, found {value!r}"
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
    for site in value:
        if not isinstance(site, str) or site not in sites:
            hint = suggest(site, sites) if isinstance(site, str) else ""
            errors.append(f"{name}: unknown site '{site}'{hint}; allowed: {', '.join(sites)}")
        else:
            found.add(site)
    return tuple(s for s in sites if s in found)


def classify(t_score: float, knowledge: Knowledge) -> str:
    """normal, osteopenia or osteoporosis by the thresholds (and convention) of the knowledge file."""
    bd = knowledge.bone_density
    if t_score >= bd.normal_at_or_above:
        return "normal"
    if t_score <= bd.osteoporosis_at_or_below:
        return "osteoporosis"
    return "osteopenia"


def stage_of(profile: Profile, knowledge: Knowledge, *, usage: bool = True) -> tuple[str, tuple[str, ...]]:
    """The stage the plan uses and what was assumed to reach it; contradictions are errors."""
    bd = knowledge.bone_density
    notes: list[str] = []
    stage = profile.stage
    if profile.t_score is not None:
        category = classify(profile.t_score, knowledge)
        expected = {"normal": (), "osteopenia": ("osteopenia",), "osteoporosis": ("osteoporosis", "severe")}[category]
        if stage is not None and stage not in expected:
            raise ProfileError(
                (
                    f"{label('t_score', usage=usage)} {profile.t_score:g} means {category} ({bd.convention}), "
                    f"which contradicts {label('stage', usage=usage)} {stage}; correct one of them",
                ),
                usage=usage,
            )
        if category == "normal":
            notes.append(
                f"T-score {profile.t_score:g} is in the normal range (T >= {bd.normal_at_or_above:g}): the profile "
                "does not indicate osteoporosis. To stay on the safe side the rules of the lowest stage, "
                "osteopenia, are applied."
            )
            stage = "osteopenia"
        elif stage is None:
            stage = category
            notes.append(f"Stage {category} derived from T-score {profile.t_score:g} ({bd.convention}).")
    if stage is None:
        stage = "osteoporosis"
        notes.append("No stage or T-score given: treated as osteoporosis.")
    if stage == "osteoporosis" and profile.fracture_history:
        stage = "severe"
        notes.append(
            "Osteoporosis with a history of fragility fractures is established (severe) osteoporosis: "
            "the plan uses stage severe."
        )
    return stage, tuple(notes)
