"""The contract's profile vocabulary: plain constants, cheap to import anywhere.

Risk factors are declared in the knowledge file; the ones below are the
contract's own, which every complete knowledge file must declare with the same
kind and flag, so their flags can be known before any knowledge is loaded.
"""

from __future__ import annotations

STAGES: tuple[str, ...] = ("osteopenia", "osteoporosis", "severe")
# The contract's yes/no facts and per-site facts, in the contract's order.
BOOL_FACTS: tuple[str, ...] = (
    "fracture_history",
    "anticoagulants",
    "corticosteroids",
    "fragile_skin",
    "kyphosis",
    "height_loss",
    "balance_issues",
    "fever",
    "new_back_pain",
)
SITE_FACTS: tuple[str, ...] = (
    "fresh_fractures",
    "open_wounds",
    "active_infections",
    "post_surgical",
    "dvt",
    "cancer_in_bone",
)
T_SCORE_RANGE: tuple[float, float] = (-10.0, 10.0)
ENV_VAR = "OSTEOCHECK_RULES"

# Profile keys that are not risk factors, and so can never be declared as one.
OTHER_KEYS: tuple[str, ...] = ("stage", "t_score", "cleared", "name", "id")

# How the command line spells the contract's keys.
FLAGS: dict[str, str] = {
    "stage": "--stage",
    "t_score": "--t-score",
    "fresh_fractures": "--fresh-fracture",
    "open_wounds": "--open-wound",
    "active_infections": "--active-infection",
    "post_surgical": "--post-surgical",
    "dvt": "--dvt",
    "cancer_in_bone": "--cancer-in-bone",
    "cleared": "--cleared",
    **{fact: "--" + fact.replace("_", "-") for fact in BOOL_FACTS},
}


def label(key: str, *, usage: bool) -> str:
    """How to name a profile key in a message: its flag on the command line, else its key."""
    if not usage:
        return f"'{key}'"
    return FLAGS.get(key) or (key if key in OTHER_KEYS else "--fact " + key)
