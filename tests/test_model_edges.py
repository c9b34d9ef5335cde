"""Exact words and edges of the model: lookups, the plan's reasons in order, and every profile message."""

from __future__ import annotations

import pytest

from osteocheck.client.profile import build, profile_keys
from osteocheck.engine.evaluate import evaluate
from osteocheck.engine.model import Knowledge, Profile
from osteocheck.errors import ProfileError
from osteocheck.vocabulary import STAGES


def messages(raw: dict[str, object], kb: Knowledge, *, usage: bool = False) -> tuple[str, ...]:
    with pytest.raises(ProfileError) as err:
        build(raw, kb, usage=usage, origin="f")
    return err.value.messages


def test_lookups_find_exactly_the_one_asked_for(kb: Knowledge) -> None:
    assert kb.technique("friction").id == "friction" and kb.technique("light_effleurage").id == "light_effleurage"
    with pytest.raises(KeyError, match="tapotement"):
        kb.technique("tapotement")
    fever = kb.fact("fever")
    assert fever is not None and fever.id == "fever" and kb.fact("balance_issues") is not None
    assert kb.fact("recent_fall") is None
    plan = evaluate(Profile(), kb)
    assert plan.verdict("vibration").technique.id == "vibration"
    with pytest.raises(KeyError, match="tapotement"):
        plan.verdict("tapotement")


def test_a_technique_is_named_by_its_id_or_its_name_never_by_a_guess(kb: Knowledge) -> None:
    assert kb.technique_named("Percussion (tapotement)") == "percussion" == kb.technique_named("PERCUSSION")
    assert kb.technique_named("tapotement") is None and kb.technique_named("deep kneading massage") is None
    first, second = kb.techniques[:2]
    twins = kb._replace(techniques=(first, second._replace(name=first.id), *kb.techniques[2:]))
    assert twins.technique_named(first.id) is None  # two techniques answer to it: neither is chosen


def test_every_reason_of_a_plan_is_listed_once_postponement_first(kb: Knowledge) -> None:
    plan = evaluate(
        Profile.make(fever=True, open_wounds=("legs",), kyphosis=True, balance_issues=True, anticoagulants=True), kb
    )
    rules = [r.rule for r in plan.all_reasons()]
    assert rules[0] == "fever_postpone" and len(rules) == len(set(rules))
    assert rules.index("open_wound_no_treatment") < rules.index("gentle_pressure_in_osteoporosis")
    for expected in (
        "open_wound_no_treatment",  # clearance
        "gentle_pressure_in_osteoporosis",  # the overall cap
        "care_at_at_risk_sites",  # a site's cap
        "exclude_forceful_techniques",  # a technique
        "kyphosis_avoid_prone_and_leaning",  # an avoided position
        "support_positioning",  # a recommended position
        "anticoagulants_modify",  # an assessment step
        "balance_bath_safety",  # a withheld self-care point
    ):
        assert expected in rules, expected


def test_unknown_keys_name_every_allowed_key(kb: Knowledge) -> None:
    allowed = ", ".join(profile_keys(kb))
    assert messages({"kyphossis": True}, kb) == (
        f"f: unknown profile key 'kyphossis' (did you mean 'kyphosis'?); allowed: {allowed}",
    )


def test_a_stage_that_is_not_a_word_gets_no_hint(kb: Knowledge) -> None:
    allowed = ", ".join(STAGES)
    assert messages({"stage": 3}, kb) == (f"f: 'stage': '3' is not a stage; allowed: {allowed}",)
    assert messages({"stage": "severre"}, kb) == (
        f"f: 'stage': 'severre' is not a stage (did you mean 'severe'?); allowed: {allowed}",
    )


def test_an_unknown_site_names_every_allowed_site(kb: Knowledge) -> None:
    allowed = ", ".join(kb.site_ids)
    assert messages({"open_wounds": ["lgs", 7]}, kb) == (
        f"f: 'open_wounds': unknown site 'lgs' (did you mean 'legs'?); allowed: {allowed}",
        f"f: 'open_wounds': unknown site '7'; allowed: {allowed}",
    )


def test_every_bad_value_is_reported_not_only_the_first(kb: Knowledge) -> None:
    found = messages({"kyphosis": "yes", "fragile_skin": "no", "open_wounds": 5, "post_surgical": ["x"], "id": []}, kb)
    assert [m.split(":")[1].strip() for m in found] == [
        "'kyphosis'", "'fragile_skin'", "'open_wounds'", "'post_surgical'", "'id'",
    ]  # fmt: skip
    found = messages({"t_score": "low", "stage": None, "name": {}, "kyphosis": 1}, kb)
    assert len(found) == 3


def test_many_problems_are_cut_to_ten_and_counted(kb: Knowledge) -> None:
    ten = messages({f"x{i}": True for i in range(10)}, kb)
    assert len(ten) == 10 and not ten[-1].startswith("...")
    twelve = messages({f"x{i}": True for i in range(12)}, kb)
    assert len(twelve) == 11 and twelve[-1] == "... and 2 more problem(s) like these"


def test_fact_forms_on_the_command_line(kb: Knowledge) -> None:
    assert messages({"fever": ["legs"]}, kb, usage=True) == (
        "f: --fever: a yes/no fact takes no site; give it as --fever",
    )
    assert messages({"dvt": True}, kb, usage=True) == ("f: --dvt: a per-site fact needs its site: --fact dvt=SITE",)
    assert build({"fever": False, "dvt": []}, kb, usage=True).facts == ()
    made = build({"dvt": ["legs", "arms", "legs"], "fever": True}, kb, usage=True)
    assert made.facts == (("dvt", ("arms", "legs")), ("fever", ()))
    assert made == Profile.make(fever=True, dvt=("arms", "legs"))


def test_profile_make_and_adding_build_the_values_the_builder_builds(kb: Knowledge) -> None:
    made = Profile.make(stage="severe", t_score=-3.0, cleared=("legs",), name="Ann", id="7",
                        kyphosis=True, fragile_skin=False, open_wounds=["legs"], dvt=())  # fmt: skip
    assert made == build(
        {"stage": "severe", "t_score": -3.0, "cleared": ["legs"], "name": "Ann", "id": "7", "kyphosis": True,
         "fragile_skin": False, "open_wounds": ["legs"], "dvt": []},
        kb, usage=True,
    )  # fmt: skip
    assert made.facts == (("kyphosis", ()), ("open_wounds", ("legs",)))
    more = made.adding("open_wounds", ("legs", "feet")).adding("fever")
    assert more.facts == (("fever", ()), ("kyphosis", ()), ("open_wounds", ("legs", "feet")))
    assert more.sites_of("open_wounds") == ("legs", "feet") and more.has("fever") and not made.has("fever")


def test_pressure_labels(kb: Knowledge) -> None:
    assert kb.pressure_label(0) == "no treatment"
    assert (kb.pressure_label(1), kb.pressure_label(2)) == ("light lotioning", "heavy lotioning")
    assert kb.pressure_label(9) == "9"


def test_the_plan_says_what_it_counted_in_its_own_words(kb: Knowledge) -> None:
    fresh = evaluate(Profile.make(fresh_fractures=("spine", "wrists")), kb)
    assert fresh.assumptions[0] == (
        "An unhealed fracture (spine, wrists) counts as a fragility fracture (fracture history)."
    )
    severe = evaluate(Profile.make(stage="severe"), kb)
    assert severe.assumptions[0] == ("Stage severe is osteoporosis with a fragility fracture (fracture history).")
    withheld = evaluate(Profile.make(balance_issues=True), kb).withheld
    assert [(w.id, [r.rule for r in w.reasons]) for w in withheld] == [("epsom_soak", ["balance_bath_safety"])]
    assert withheld[0].basis.source.quote.startswith("Use of warm compresses")
    assert evaluate(Profile.make(), kb).max_pressure_label == "heavy lotioning"
