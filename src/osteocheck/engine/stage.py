"""The stage a plan uses: from the stated stage, the T-score (by the knowledge file's thresholds) and fractures."""

from __future__ import annotations

from osteocheck.engine.model import Knowledge, Profile
from osteocheck.errors import ProfileError
from osteocheck.vocabulary import label

# The profile facts each derived fact is worked out from (by stage_of and implied below): the stage from
# a stated stage, a T-score and a fracture; fracture history from a fresh fracture too.
RESTS_ON: dict[str, tuple[str, ...]] = {
    "stage": ("stage", "t_score", "fracture_history", "fresh_fractures"),
    "fracture_history": ("fracture_history", "fresh_fractures"),
}


# The stage a plan assumes when neither a stage nor a current T-score is given.
ASSUMED = "osteoporosis"


def classify(t_score: float, knowledge: Knowledge) -> str:
    """normal, osteopenia or osteoporosis by the thresholds (and convention) of the knowledge file."""
    bd = knowledge.bone_density
    if t_score >= bd.normal_at_or_above:
        return "normal"
    if t_score <= bd.osteoporosis_at_or_below:
        return "osteoporosis"
    return "osteopenia"


def stage_of(
    profile: Profile, knowledge: Knowledge, *, usage: bool = True, explain: bool = True
) -> tuple[str, tuple[str, ...]]:
    """The stage the plan uses and what was assumed to reach it; contradictions are errors.

    `explain=False` only checks (and settles) the stage, without wording the assumptions.
    """
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
            band = (
                f"T <= {bd.osteoporosis_at_or_below:g}"
                if category == "osteoporosis"
                else f"{bd.osteoporosis_at_or_below:g} < T < {bd.normal_at_or_above:g}"
            )  # the band it fell in, not the whole convention (that is in the knowledge file)
            notes.append(f"Stage {category} from T-score {profile.t_score:g} ({band}).")
    if stage is None:
        stage = ASSUMED
        notes.append(f"No stage or current T-score given: treated as {ASSUMED}.")
    if stage == "osteoporosis" and profile.has("fracture_history"):
        stage = "severe"
        notes.append("Osteoporosis with a fragility fracture: stage severe (established osteoporosis).")
    return stage, tuple(notes) if explain else ()


def implied(profile: Profile) -> tuple[Profile, tuple[str, ...]]:
    """Facts that follow from others by definition, each said in the plan.

    An unhealed fracture is a fracture, and established (severe) osteoporosis is osteoporosis
    with a fragility fracture: both bring what fracture history brings. Only ever adds a fact.
    """
    if profile.has("fracture_history"):
        return profile, ()
    if profile.has("fresh_fractures"):
        sites = ", ".join(profile.sites_of("fresh_fractures"))
        note = f"An unhealed fracture ({sites}) counts as a fragility fracture (fracture history)."
    elif profile.stage == "severe":
        note = "Stage severe is osteoporosis with a fragility fracture (fracture history)."
    else:
        return profile, ()
    return profile.adding("fracture_history"), (note,)
