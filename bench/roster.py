"""Rosters shaped like real ones: nearly every profile distinct (continuous T-scores, different site lists).

python bench/roster.py ROWS [SEED] > roster.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator

YES_NO = ("fracture_history", "anticoagulants", "corticosteroids", "fragile_skin", "kyphosis", "height_loss",
          "balance_issues", "fever", "new_back_pain")  # fmt: skip
PER_SITE = ("fresh_fractures", "open_wounds", "active_infections", "post_surgical", "dvt", "cancer_in_bone")
SITES = ("head", "neck", "shoulders", "arms", "wrists", "hands", "ribs", "spine", "abdomen", "pelvis", "hips",
         "legs", "knees", "ankles", "feet")  # fmt: skip
STAGES = ("osteopenia", "osteoporosis", "severe")


def profiles(rows: int, seed: int = 7) -> Iterator[dict[str, object]]:
    """T-score −4.5..0.5 (or a stated stage, or neither), each yes/no fact 20%, each per-site fact 15% with
    1–3 sites, clearance of one named site 10%: the mix a clinic's roster shows."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    for i in range(rows):
        row: dict[str, object] = {"id": f"C-{i:07d}"}
        pick = rng.random()
        if pick < 0.7:
            row["t_score"] = round(rng.uniform(-4.5, 0.5), 2)
        elif pick < 0.9:
            row["stage"] = rng.choice(STAGES)
        for fact in YES_NO:
            if rng.random() < 0.2:
                row[fact] = True
        named: list[str] = []
        for fact in PER_SITE:
            if rng.random() < 0.15:
                sites = rng.sample(SITES, rng.randint(1, 3))
                row[fact] = sites
                named += sites
        if named and rng.random() < 0.1:
            row["cleared"] = [rng.choice(named)]
        if row.get("stage") == "severe" or ("stage" not in row and "t_score" not in row):
            row.pop("stage", None) if rng.random() < 0.5 else None
        yield row


def main() -> None:
    rows = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    write = sys.stdout.write
    for row in profiles(rows, seed):
        write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
