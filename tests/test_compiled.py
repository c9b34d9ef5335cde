"""The compiled rule base (batch's fast path) says exactly what the full evaluation says, profile by profile."""

from __future__ import annotations

import contextlib
import random

import pytest

from conftest import ROOT, SHIPPED
from osteocheck.client.profile import build
from osteocheck.engine.compiled import TABLE_LIMIT, CompiledRules
from osteocheck.engine.model import Profile
from osteocheck.errors import ProfileError
from osteocheck.knowledge import loader
from test_exhaustive import KEYS, agree, profile_of  # the whole lattice is checked there, evaluated once

KB = loader.load(SHIPPED)
SITES = KB.site_ids


@pytest.mark.no_cover  # thousands of plans: what they run is covered elsewhere, tracing them costs a minute
def test_on_generated_rosters_with_t_scores_many_sites_and_clearances() -> None:
    rng = random.Random(11)
    facts = [f for f in KB.facts]
    profiles = []
    for _ in range(2500):
        raw: dict[str, object] = {}
        if rng.random() < 0.7:
            raw["t_score"] = round(rng.uniform(-5, 1), 2)
        elif rng.random() < 0.8:
            raw["stage"] = rng.choice(["osteopenia", "osteoporosis", "severe"])
        named: list[str] = []
        for f in facts:
            if rng.random() < 0.25:
                if f.per_site:
                    raw[f.id] = rng.sample(SITES, rng.randint(1, 4))
                    named += raw[f.id]  # type: ignore[arg-type]
                else:
                    raw[f.id] = True
        if named and rng.random() < 0.3:
            raw["cleared"] = rng.sample(named, rng.randint(1, len(named)))
        with contextlib.suppress(ProfileError):  # a T-score that contradicts the stage: not a profile
            profiles.append(build(raw, KB, usage=False))
    assert len(profiles) > 1800
    agree(profiles)


def test_with_a_layered_knowledge_file_that_adds_a_fact_and_a_rule() -> None:
    layered = loader.load(ROOT / "examples" / "clinic" / "aromatase_inhibitors.yaml")
    base = [profile_of(key) for key in KEYS[::37]]
    agree([*base, *(p.adding("aromatase_inhibitors") for p in base)], layered)


def test_its_tables_stay_bounded_however_distinct_the_roster() -> None:
    fast = CompiledRules(KB)
    rng = random.Random(3)
    for _ in range(3000):
        sites = {f: tuple(sorted(rng.sample(SITES, 2), key=SITES.index)) for f in ("fresh_fractures", "dvt")}
        fast.screen(Profile.make(t_score=round(rng.uniform(-4, 0), 2), **sites))
    assert len(fast._holding) <= TABLE_LIMIT and len(fast._whole) <= TABLE_LIMIT
