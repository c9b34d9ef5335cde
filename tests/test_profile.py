"""Profile validation: nothing is silently ignored."""

from __future__ import annotations

import pytest

from osteocheck.errors import ProfileError
from osteocheck.model import Knowledge
from osteocheck.profile import build, merge


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
    assert build({"open_wounds": ["hips", "head", "hips"]}, kb, usage=True).open_wounds == ("head", "hips")


def test_merge_adds_flags_and_rejects_contradictions() -> None:
    merged = merge(
        {"open_wounds": ["arms"], "kyphosis": True}, {"open_wounds": ["legs"], "kyphosis": False}, origin="f"
    )
    assert merged == {"open_wounds": ["arms", "legs"], "kyphosis": True}
    with pytest.raises(ProfileError, match="--stage severe contradicts stage: osteopenia in f"):
        merge({"stage": "osteopenia"}, {"stage": "severe"}, origin="f")
