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
