"""Profile validation: nothing is silently ignored."""

from __future__ import annotations

import pytest

from osteocheck.client.profile import build, merge
from osteocheck.engine.model import Knowledge
from osteocheck.errors import ProfileError


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"fractur_history": True}, "unknown profile key 'fractur_history' (did you mean 'fracture_history'?)"),
        ({"open_wounds": ["wirst"]}, "--open-wound: unknown site 'wirst' (did you mean 'wrists'?)"),
        ({"t_score": 12}, "--t-score: 12 is out of range; a T-score lies between -10 and 10"),
        ({"t_score": float("nan")}, "--t-score: nan is out of range"),
        ({"t_score": "low"}, "--t-score: expected a number, found 'low'"),
        ({"stage": "severe-ish"}, "--stage: 'severe-ish' is not a stage (did you mean 'severe'?)"),
        ({"kyphosis": "yes"}, "--kyphosis: expected true or false, found 'yes'"),
        ({"cleared": 3}, "--cleared: expected a list of sites, found 3"),
    ],
)
def test_bad_values_are_errors_naming_the_value(kb: Knowledge, raw: dict[str, object], message: str) -> None:
    with pytest.raises(ProfileError) as err:
        build(raw, kb, usage=True)
    assert err.value.messages[0].startswith(message)


def test_file_errors_name_the_file_and_key(kb: Knowledge) -> None:
    with pytest.raises(ProfileError) as err:
        build({"kyphosis": 1, "t_score": None}, kb, usage=False, origin="c.yaml")
    assert err.value.messages == ("c.yaml: 'kyphosis': expected true or false, found 1",)
    assert not err.value.usage


def test_all_problems_are_reported_at_once(kb: Knowledge) -> None:
    with pytest.raises(ProfileError) as err:
        build({"x": 1, "open_wounds": ["a", "b"]}, kb, usage=True)
    assert len(err.value.messages) == 3


def test_sites_are_deduplicated_in_vocabulary_order(kb: Knowledge) -> None:
    assert build({"open_wounds": ["hips", "head", "hips"]}, kb, usage=True).sites_of("open_wounds") == ("head", "hips")


def test_merge_adds_flags_and_rejects_contradictions() -> None:
    merged = merge(
        {"open_wounds": ["arms"], "kyphosis": True}, {"open_wounds": ["legs"], "kyphosis": False}, origin="f"
    )
    assert merged == {"open_wounds": ["arms", "legs"], "kyphosis": True}
    with pytest.raises(ProfileError, match="--stage severe contradicts stage: osteopenia in f"):
        merge({"stage": "osteopenia"}, {"stage": "severe"}, origin="f")


@pytest.mark.parametrize(
    ("value", "ok"), [(-10, True), (10, True), (-10.01, False), (10.01, False), (float("inf"), False)]
)
def test_t_score_range_is_inclusive(kb: Knowledge, value: float, ok: bool) -> None:
    if ok:
        assert build({"t_score": value}, kb, usage=True).t_score == value
    else:
        with pytest.raises(ProfileError):
            build({"t_score": value}, kb, usage=True)


@pytest.mark.parametrize(
    ("value", "category"),
    [(-1.0, "normal"), (-0.99, "normal"), (-1.01, "osteopenia"), (-2.49, "osteopenia"), (-2.5, "osteoporosis")],
)
def test_who_boundaries(kb: Knowledge, value: float, category: str) -> None:
    from osteocheck.engine.stage import classify

    assert classify(value, kb) == category


def test_merge_details() -> None:
    assert merge({}, {"open_wounds": ["legs"]}, origin="f") == {"open_wounds": ["legs"]}
    assert merge({"open_wounds": "legs"}, {"open_wounds": ["arms"]}, origin="f") == {"open_wounds": ["arms"]}
    assert merge({"stage": "severe"}, {"stage": "severe"}, origin="f") == {"stage": "severe"}
    assert merge({}, {"stage": "severe", "t_score": -3.0}, origin="f") == {"stage": "severe", "t_score": -3.0}
    assert merge({"kyphosis": "yes"}, {"kyphosis": True}, origin="f") == {"kyphosis": "yes"}
    with pytest.raises(ProfileError) as err:
        merge({"t_score": -2.0}, {"t_score": -3.0}, origin="a.yaml", usage=False, incoming="b.json")
    assert err.value.messages == ("t_score: -3.0 in b.json contradicts t_score: -2.0 in a.yaml; change one of them",)
    assert err.value.usage is False
    with pytest.raises(ProfileError) as err:
        merge({"t_score": -2.0}, {"t_score": -3.0}, origin="a.yaml")
    assert err.value.usage is True


def test_every_kind_of_problem_is_reported_together(kb: Knowledge) -> None:
    raw = {
        "stage": "sever",
        "t_score": "x",
        "kyphosis": 1,
        "open_wounds": ["wirst"],
        "id": True,
        "name": ["a"],
        "extra": 1,
    }
    with pytest.raises(ProfileError) as err:
        build(raw, kb, usage=False, origin="c.yaml")
    assert len(err.value.messages) == 7
    assert all(m.startswith("c.yaml: ") for m in err.value.messages)
    assert err.value.usage is False


def test_empty_values_are_skipped_not_errors(kb: Knowledge) -> None:
    p = build({"stage": None, "t_score": None, "name": None, "id": None, "kyphosis": True}, kb, usage=True)
    assert (p.stage, p.t_score, p.name, p.id, p.has("kyphosis")) == (None, None, None, None, True)
    assert build({"id": 42, "name": "Ann"}, kb, usage=True)[-2:] == ("Ann", "42")
    assert build({"open_wounds": "legs"}, kb, usage=True).sites_of("open_wounds") == ("legs",)


def test_contradiction_from_a_file_is_not_a_usage_error(kb: Knowledge) -> None:
    with pytest.raises(ProfileError) as err:
        build({"stage": "osteopenia", "t_score": -3.0}, kb, usage=False)
    assert err.value.usage is False
    assert err.value.messages[0].startswith("'t_score' -3 means osteoporosis")


def test_labels() -> None:
    from osteocheck.vocabulary import label

    assert label("open_wounds", usage=True) == "--open-wound"
    assert label("name", usage=True) == "name"
    assert label("open_wounds", usage=False) == "'open_wounds'"
