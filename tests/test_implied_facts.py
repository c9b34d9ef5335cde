"""Facts that follow by definition count as they should, and the plan says so."""

from __future__ import annotations

from conftest import profile
from osteocheck.engine.evaluate import evaluate
from osteocheck.engine.model import Knowledge


def rules_of(kb: Knowledge, **raw: object) -> set[str]:
    plan = evaluate(profile(kb, **raw), kb)
    return {r.rule for r in plan.all_reasons()}


def test_an_unhealed_fracture_is_a_fracture(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, t_score=-3.1, fresh_fractures=["spine"]), kb)
    assert plan.stage == "severe"  # as the same client read from a clinical record
    assert "fracture_history_recurrence_risk" in {r.rule for r in plan.all_reasons()}
    assert any("counts as a fragility fracture" in a for a in plan.assumptions)
    assert not plan.profile.has("fracture_history")  # the profile is echoed as entered; the plan says what it added


def test_stage_severe_brings_what_fracture_history_brings(kb: Knowledge) -> None:
    assert rules_of(kb, stage="severe") >= rules_of(kb, stage="osteoporosis", fracture_history=True) - {
        "gentle_pressure_in_osteoporosis"
    }
    plan = evaluate(profile(kb, stage="severe"), kb)
    assert any("Stage severe is osteoporosis with a fragility fracture" in a for a in plan.assumptions)


def test_nothing_is_implied_when_it_was_said(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, fracture_history=True, fresh_fractures=["wrists"]), kb)
    assert not any("counted as a fragility fracture" in a for a in plan.assumptions)
    assert evaluate(profile(kb, stage="osteopenia"), kb).assumptions == ()
