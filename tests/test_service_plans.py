"""The plans kept for the link card: the same plan comes back, for a while, and costs the collector nothing."""

from __future__ import annotations

import gc
import json

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed")

from conftest import ROOT, SHIPPED
from osteocheck import api
from osteocheck.engine.model import Plan
from osteocheck.service.plans import Plans

KB = api.load_knowledge(SHIPPED)


def _plans() -> list[Plan]:
    records = sorted((ROOT / "examples" / "fhir").glob("*.json"))
    from_records = [api.evaluate(bundle=json.loads(p.read_text()), knowledge=KB) for p in records]
    by_hand = api.evaluate({"stage": "osteopenia", "t_score": -1.7, "cleared": ["spine"]}, knowledge=KB)
    return [*from_records, by_hand]


def test_a_kept_plan_comes_back_the_same() -> None:
    store = Plans(10, ttl=60)
    for plan in _plans():
        again = store.get(store.put(plan), KB)
        assert again is not None
        assert again == plan


def test_kept_plans_hold_nothing_the_collector_walks() -> None:
    store = Plans(10, ttl=60)
    for plan in _plans():
        store.put(plan)
    assert store.kept
    assert not any(gc.is_tracked(value) for value in store.kept.values())


def test_the_oldest_go_first_and_an_expired_plan_is_gone() -> None:
    plan = _plans()[0]
    store = Plans(2, ttl=60)
    first, second, third = (store.put(plan) for _ in range(3))
    assert store.get(first, KB) is None
    assert store.get(second, KB) is not None and store.get(third, KB) is not None
    gone = Plans(2, ttl=-1)
    assert gone.get(gone.put(plan), KB) is None
    assert not gone.kept
    assert store.get("no-such-token", KB) is None
