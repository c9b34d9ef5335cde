"""Each risk factor's effect, the stage, and clearance: through the engine's functions."""

from __future__ import annotations

import pytest

from conftest import profile
from osteocheck.engine.evaluate import evaluate
from osteocheck.engine.model import Knowledge, Plan, Status
from osteocheck.errors import ProfileError

BASELINE_EXCLUDED = {
    "deep_tissue_massage", "vigorous_compression", "joint_mobilization", "deep_kneading",
    "muscle_stripping", "friction", "forceful_stretching",
    "percussion", "rib_springing", "spinal_manipulation", "trigger_point_compression",
}  # fmt: skip


def statuses(plan: Plan) -> dict[str, str]:
    return {v.technique.id: v.status.value for v in plan.techniques}


def cap(plan: Plan, site: str) -> int:
    s = plan.site(site)
    return plan.max_pressure if s is None else s.max_pressure


def test_default_profile_is_osteoporosis_and_says_so(kb: Knowledge) -> None:
    plan = evaluate(profile(kb), kb)
    assert plan.stage == "osteoporosis"
    assert plan.assumptions == ("No stage or current T-score given: treated as osteoporosis.",)
    assert {t for t, s in statuses(plan).items() if s == "excluded"} == BASELINE_EXCLUDED
    assert statuses(plan)["passive_stretching"] == "modify"
    assert statuses(plan)["light_effleurage"] == "safe"
    assert plan.max_pressure == 2
    assert [cap(plan, s) for s in ("spine", "hips", "wrists", "legs")] == [1, 1, 1, 2]
    assert plan.clearance_required == ()


def test_osteopenia_is_less_restricted_but_keeps_the_exclusions(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, stage="osteopenia"), kb)
    assert plan.max_pressure == 3
    assert cap(plan, "spine") == 2
    assert {t for t, s in statuses(plan).items() if s == "excluded"} == BASELINE_EXCLUDED


@pytest.mark.parametrize(
    ("t_score", "fracture", "stage"),
    [(-0.5, False, "osteopenia"), (-1.0, False, "osteopenia"), (-1.5, False, "osteopenia"),
     (-2.5, False, "osteoporosis"), (-3.1, False, "osteoporosis"), (-2.5, True, "severe")],
)  # fmt: skip
def test_stage_from_t_score(kb: Knowledge, t_score: float, fracture: bool, stage: str) -> None:
    assert evaluate(profile(kb, t_score=t_score, fracture_history=fracture), kb).stage == stage


def test_normal_t_score_says_so_and_applies_the_lowest_stage(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, t_score=-0.4), kb)
    assert plan.stage == "osteopenia"
    assert "does not indicate osteoporosis" in plan.assumptions[0]


@pytest.mark.parametrize(
    ("stage", "t_score"), [("osteopenia", -3.0), ("osteoporosis", -1.2), ("severe", -0.2), ("osteopenia", 0.5)]
)
def test_t_score_contradicting_stage_is_a_usage_error(kb: Knowledge, stage: str, t_score: float) -> None:
    with pytest.raises(ProfileError) as err:
        profile(kb, stage=stage, t_score=t_score)
    assert err.value.usage
    assert "contradicts --stage" in err.value.messages[0]


def test_fracture_history(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, stage="osteopenia", fracture_history=True), kb)
    assert plan.max_pressure == 2
    assert [cap(plan, s) for s in ("spine", "hips", "wrists")] == [1, 1, 1]
    assert plan.assessment[0].id == "review_history"
    assert "spine_sparing_movement" in [s.id for s in plan.self_care]


@pytest.mark.parametrize(("fact", "rule"), [("fresh_fractures", "fresh_fracture_no_treatment"), ("open_wounds", "open_wound_no_treatment"),
                                           ("active_infections", "active_infection_no_treatment"), ("post_surgical", "post_surgical_no_treatment")])  # fmt: skip
def test_site_hazards_block_the_site_and_need_clearance(kb: Knowledge, fact: str, rule: str) -> None:
    plan = evaluate(profile(kb, **{fact: ["knees"]}), kb)
    knees = plan.site("knees")
    assert knees is not None and knees.no_treatment and knees.max_pressure == 0
    assert [(c.reason.rule, c.sites) for c in plan.clearance_required] == [(rule, ("knees",))]
    cleared = evaluate(profile(kb, **{fact: ["knees"]}, cleared=["knees"]), kb)
    assert cleared.clearance_required == ()
    assert [(x.reason.rule, x.site) for x in cleared.lifted] == [(rule, "knees")]
    after = cleared.site("knees")
    assert after is None or not after.no_treatment


def test_cleared_fresh_fracture_stays_at_light_pressure(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, fresh_fractures=["legs"], cleared=["legs"]), kb)
    legs = plan.site("legs")
    assert legs is not None and not legs.no_treatment and legs.max_pressure == 1


def test_clearance_of_one_site_leaves_others_blocked(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, open_wounds=["arms", "legs"], cleared=["arms"]), kb)
    assert [c.sites for c in plan.clearance_required] == [("legs",)]


def test_cleared_site_without_restriction_is_noted(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, cleared=["head"]), kb)
    assert any("'head' had no restriction" in a for a in plan.assumptions)


@pytest.mark.parametrize("fact", ["anticoagulants", "corticosteroids", "fragile_skin"])
def test_medication_and_skin_modify_techniques(kb: Knowledge, fact: str) -> None:
    base = statuses(evaluate(profile(kb, stage="osteopenia"), kb))
    plan = evaluate(profile(kb, stage="osteopenia", **{fact: True}), kb)
    changed = {t for t, s in statuses(plan).items() if s != base[t]}
    assert changed and all(statuses(plan)[t] == "modify" for t in changed)
    assert all(v.modifications for v in plan.techniques if v.status is Status.MODIFY)


def test_kyphosis_and_height_loss_protect_the_spine(kb: Knowledge) -> None:
    for fact in ("kyphosis", "height_loss"):
        plan = evaluate(profile(kb, stage="osteopenia", **{fact: True}), kb)
        assert cap(plan, "spine") == 1
        assert plan.assessment[0].id == "assess_mobility_posture"
    plan = evaluate(profile(kb, kyphosis=True), kb)
    assert {p.id for p in plan.positioning} >= {"bolstering", "side_lying", "seated"}


def test_balance_issues_put_falls_first(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, balance_issues=True), kb)
    assert "seated" in [p.id for p in plan.positioning]
    assert plan.self_care[0].id == "safe_home"
    assert plan.assessment[0].id == "assess_mobility_posture"


def test_vertebral_fracture_adds_physical_therapist(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, fresh_fractures=["spine"]), kb)
    assert "physical_therapist_after_vertebral_fracture" in [s.id for s in plan.self_care]


def test_reasons_name_the_triggering_facts(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, anticoagulants=True, fresh_fractures=["wrists"]), kb)
    assert plan.verdict("mild_kneading").reasons[0].facts == ("anticoagulants",)
    assert plan.clearance_required[0].reason.facts == ("fresh_fractures: wrists",)


def test_evaluate_is_deterministic_and_leaves_inputs_alone(kb: Knowledge) -> None:
    p = profile(kb, fracture_history=True, open_wounds=["arms"])
    assert evaluate(p, kb) == evaluate(p, kb)
    assert p == profile(kb, fracture_history=True, open_wounds=["arms"])


def test_stage_assumptions_are_worded_exactly(kb: Knowledge) -> None:
    assert evaluate(profile(kb, t_score=-1.5), kb).assumptions == (
        "Stage osteopenia from T-score -1.5 (-2.5 < T < -1).",
    )
    assert evaluate(profile(kb, t_score=-2.5), kb).assumptions == ("Stage osteoporosis from T-score -2.5 (T <= -2.5).",)
    assert evaluate(profile(kb, t_score=-0.5), kb).assumptions == (
        "T-score -0.5 is in the normal range (T >= -1): the profile does not indicate osteoporosis. "
        "To stay on the safe side the rules of the lowest stage, osteopenia, are applied.",
    )
    assert evaluate(profile(kb, stage="osteoporosis", fracture_history=True), kb).assumptions == (
        "Osteoporosis with a fragility fracture: stage severe (established osteoporosis).",
    )
    with pytest.raises(ProfileError) as err:
        profile(kb, stage="osteopenia", t_score=-3.0)
    convention = kb.bone_density.convention
    assert err.value.messages == (
        f"--t-score -3 means osteoporosis ({convention}), which contradicts --stage osteopenia; correct one of them",
    )


@pytest.mark.parametrize(("stage", "t_score"), [("osteopenia", -1.5), ("osteoporosis", -2.7), ("severe", -3.0)])
def test_t_score_agreeing_with_stage_is_accepted(kb: Knowledge, stage: str, t_score: float) -> None:
    assert evaluate(profile(kb, stage=stage, t_score=t_score), kb).stage == stage


def test_plan_fields_are_complete(kb: Knowledge) -> None:
    plan = evaluate(profile(kb, kyphosis=True, open_wounds=["arms", "legs"], cleared=["legs"]), kb)
    assert plan.max_pressure_label == "heavy lotioning"
    assert [r.rule for r in plan.max_pressure_reasons] == ["gentle_pressure_in_osteoporosis"]
    assert not any("had no restriction" in a for a in plan.assumptions)
    assert plan.clearance_required[0].reason.facts == ("open_wounds: arms, legs",)
    seated = next(p for p in plan.positioning if p.id == "seated")
    assert seated.text == "Seated upright, back supported" and seated.basis.source.ref == "text"
    assert [r.rule for r in seated.reasons] == ["kyphosis_positioning"]
    avoided = {p.position.id: [r.rule for r in p.reasons] for p in plan.positions if p.status.value == "avoid"}
    assert avoided == {
        "prone": ["kyphosis_avoid_prone_and_leaning"],
        "massage_chair": ["kyphosis_avoid_prone_and_leaning"],
    }
    assert "bolstering" in [p.id for p in plan.positioning] and "side_lying" in [p.id for p in plan.positioning]
    assert plan.assessment[0].id == "collaborate_physician"
    step = next(a for a in plan.assessment if a.id == "assess_mobility_posture")
    assert (
        step.id == "assess_mobility_posture"
        and step.text.startswith("Assess mobility")
        and step.basis.source.quote.startswith("Assess mobility")
    )
    assert [r.rule for r in step.reasons] == ["kyphosis_positioning", "kyphosis_spine_light", "table_transfer_log_roll"]
    assert [s.id for s in plan.self_care if not s.reasons][:1] == ["gentle_range_of_motion"]
    assert statuses(plan)["mild_kneading"] == "safe"
