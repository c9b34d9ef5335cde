"""The condition language: each form's meaning, its triggering facts, and how it reads."""

from __future__ import annotations

import pytest

from osteocheck.engine.conditions import AllOf, Always, AnyOf, Fact, SiteIn, StageAtLeast
from osteocheck.engine.model import Facts, Knowledge, Profile
from osteocheck.render.terminal import condition_text

P = Profile.make(kyphosis=True, open_wounds=("legs",), fresh_fractures=("spine",))


@pytest.mark.parametrize(
    ("condition", "holds", "triggers", "text"),
    [
        (Always(), True, ("stage: osteoporosis",), "always"),
        (Fact("kyphosis"), True, ("kyphosis",), "kyphosis"),
        (Fact("fragile_skin"), False, (), "fragile_skin"),
        (Fact("open_wounds"), True, ("open_wounds: legs",), "open_wounds"),
        (Fact("post_surgical"), False, (), "post_surgical"),
        (SiteIn("spine", "fresh_fractures"), True, ("fresh_fractures: spine",), "spine in fresh_fractures"),
        (SiteIn("hips", "fresh_fractures"), False, (), "hips in fresh_fractures"),
        (StageAtLeast("osteoporosis"), True, ("stage: osteoporosis",), "stage at least osteoporosis"),
        (StageAtLeast("severe"), False, (), "stage at least severe"),
        (StageAtLeast("osteopenia"), True, ("stage: osteoporosis",), "stage at least osteopenia"),
        (AnyOf((Fact("kyphosis"), Fact("height_loss"))), True, ("kyphosis",), "any of (kyphosis, height_loss)"),
        (AnyOf((Fact("height_loss"), Fact("fragile_skin"))), False, (), "any of (height_loss, fragile_skin)"),
        (
            AllOf((Fact("kyphosis"), Fact("open_wounds"))),
            True,
            ("kyphosis", "open_wounds: legs"),
            "all of (kyphosis, open_wounds)",
        ),
        (AllOf((Fact("kyphosis"), Fact("height_loss"))), False, (), "all of (kyphosis, height_loss)"),
        (AnyOf((Fact("kyphosis"), Fact("kyphosis"))), True, ("kyphosis",), "any of (kyphosis, kyphosis)"),
    ],
)
def test_condition_forms(condition: object, holds: bool, triggers: tuple[str, ...], text: str) -> None:
    facts = Facts(P, "osteoporosis")
    assert condition.holds(facts) is holds  # type: ignore[attr-defined]
    assert condition.triggers(facts) == triggers  # type: ignore[attr-defined]
    assert condition.describe() == text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ("open_wound_no_treatment", "for each site in open_wounds (unless cleared by a physician)"),
        ("fresh_fracture_light_only", "for each site in fresh_fractures"),
        ("kyphosis_spine_light", "any of (kyphosis, height_loss)"),
        ("gentle_pressure_in_osteoporosis", "stage at least osteoporosis"),
        ("vertebral_fracture_physical_therapist", "spine in fresh_fractures"),
        ("no_deep_pressure", "always"),
    ],
)
def test_condition_text_of_shipped_rules(kb: Knowledge, rule: str, text: str) -> None:
    assert condition_text(rule, kb) == text


def test_site_lists_are_named_in_full() -> None:
    facts = Facts(Profile.make(open_wounds=("arms", "legs")), "osteopenia")
    assert Fact("open_wounds").triggers(facts) == ("open_wounds: arms, legs",)
