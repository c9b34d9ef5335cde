"""The contract's profile vocabulary: plain constants, cheap to import anywhere."""

from __future__ import annotations

STAGES: tuple[str, ...] = ("osteopenia", "osteoporosis", "severe")
BOOL_FACTS: tuple[str, ...] = (
    "fracture_history",
    "anticoagulants",
    "corticosteroids",
    "fragile_skin",
    "kyphosis",
    "height_loss",
    "balance_issues",
)
SITE_FACTS: tuple[str, ...] = ("fresh_fractures", "open_wounds", "active_infections", "post_surgical")
# Everything a rule condition may name: the risk factors, never `cleared`.
CONDITION_FACTS: tuple[str, ...] = BOOL_FACTS + SITE_FACTS
T_SCORE_RANGE: tuple[float, float] = (-10.0, 10.0)
ENV_VAR = "OSTEOCHECK_RULES"

# What each profile fact means, in the contract's words: flag help and the profile schema both use it.
MEANINGS: dict[str, str] = {
    "fracture_history": "has had fragility fractures",
    "anticoagulants": "takes blood thinners",
    "corticosteroids": "takes corticosteroids",
    "fragile_skin": "has fragile skin",
    "kyphosis": "rounded upper back",
    "height_loss": "has lost height",
    "balance_issues": "reduced balance / fall risk",
    "fresh_fractures": "sites of fractures that have not healed",
    "open_wounds": "sites of open wounds",
    "active_infections": "sites of active infections",
    "post_surgical": "post-surgical sites",
    "cleared": "sites the physician has cleared for treatment",
}

# The keys of a profile, and how the command line spells each one.
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


def label(key: str, *, usage: bool) -> str:
    """How to name a profile key in a message: its flag on the command line, else its key."""
    return FLAGS.get(key, key) if usage else f"'{key}'"
