"""The CDS Hooks cards of generated clients (`service/cards.py`), in process: the EHR lists their summaries,
so each must read apart from the others, fit, and say what its own rule says."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from osteocheck.engine.evaluate import evaluate
from osteocheck.engine.model import Profile, Status
from osteocheck.service.cards import SUMMARY_LIMIT, plan_cards
from osteocheck.vocabulary import BOOL_FACTS, SITE_FACTS
from test_exhaustive import KB, RULES


def clients(n: int) -> list[Profile]:
    """Seeded clients: any stage, each yes/no fact at one in four, up to two sites per site fact, some cleared."""
    draw = random.Random(20261129)
    sites = KB.site_ids
    clients = []
    for _ in range(n):
        placed = {f: tuple(draw.sample(sites, draw.choice((0, 0, 1, 2)))) for f in SITE_FACTS}
        named = sorted({s for v in placed.values() for s in v})
        clients.append(
            Profile.make(
                stage=draw.choice((None, "osteopenia", "osteoporosis", "severe")),
                cleared=tuple(s for s in named if draw.random() < 0.3),
                **{f: draw.random() < 0.25 for f in BOOL_FACTS},
                **placed,
            )
        )
    return clients


def test_each_modified_technique_says_how_on_the_card_of_each_rule_that_modifies_it() -> None:
    for client in clients(300):
        plan = evaluate(client, KB)
        cards = plan_cards(plan, KB, base_url="http://ehr.example", patient="p", link=None)
        said: set[tuple[str, str, str]] = set()  # (rule, technique, how) as the Modify cards give them
        for card in cards:
            if card["summary"].startswith("Modify: "):
                head, lines = card["detail"].split("\n\n", 2)[:2]
                assert head == "**Modify:**"
                for line in lines.split("\n"):
                    name, how = line.removeprefix("- **").split(":** ", 1)
                    said.add((card["source"]["topic"]["code"], name.replace("\\", ""), how.replace("\\", "")))
        asked = {
            (r.rule, v.technique.name, how) for v in plan.techniques if v.status is Status.MODIFY for r, how in v.how
        }
        assert said == asked, client
        for v in plan.techniques:  # every modification the plan names, and nothing else, with its rule
            assert {how for _, how in v.how} == set(v.modifications)
            assert {r for r, _ in v.how} == set(v.reasons) or v.status is not Status.MODIFY


def says_what_its_rule_says(card: dict[str, Any]) -> None:
    """A card that cites a rule claims only what that rule says: "Do not treat" a rule that says not to treat,
    a pressure cap a rule with that cap, a clearance a rule that asks for one (the service's tests use it too)."""
    topic = card["source"].get("topic")
    if topic is None:  # the go-ahead and the link: no rule of their own
        return
    effects, summary = RULES[topic["code"]].effects, card["summary"]
    if summary.startswith("Do not treat:"):
        assert effects.no_treatment, summary
    elif summary.startswith("Pressure at most level "):  # a site's own cap, or the overall cap where that is lower
        said = [level for level in (effects.site_pressure, effects.max_pressure) if level is not None]
        heads = [f"Pressure at most level {level} ({KB.pressure_label(level)}) over:" for level in said]
        assert any(summary.startswith(head) for head in heads), summary
    elif summary.startswith("Physician must clear first:"):
        assert effects.clearance, summary


def test_no_two_cards_read_the_same_and_each_says_what_its_rule_says() -> None:
    for client in clients(600):
        cards = plan_cards(evaluate(client, KB), KB, base_url="http://ehr.example", patient="p", link=None)
        summaries = Counter(card["summary"] for card in cards)
        assert [s for s, n in summaries.items() if n > 1] == [], client
        for card in cards:
            assert len(card["summary"]) <= SUMMARY_LIMIT
            says_what_its_rule_says(card)


def test_cards_alike_even_with_their_rules_words_are_told_apart_by_their_rules() -> None:
    """Two rules of a clinic's file whose texts begin alike for longer than a summary holds."""
    from osteocheck.engine.model import Reason
    from osteocheck.service.cards import _Cards

    rule = KB.rules[0]
    long = "Take care " * 20
    cards = _Cards(evaluate(Profile.make(), KB), KB, "http://ehr.example", "p")
    for rule_id in ("first_rule", "second_rule"):
        cards.add(
            rule_id,
            "Modify: Passive stretching (stage)",
            "warning",
            "",
            Reason(rule_id, long, rule.severity, rule.basis),
        )
    cards.tell_apart()
    summaries = [card["summary"] for card in cards.cards]
    assert len(set(summaries)) == 2 and all(len(s) <= SUMMARY_LIMIT for s in summaries)
    assert summaries[0].endswith(" [first_rule]") and summaries[1].endswith(" [second_rule]")


def test_a_session_being_booked_is_postponed_as_the_record_stands_today_not_today() -> None:
    """The reasons to postpone are the record's today; the session being booked may be weeks away."""
    plan = next(p for p in map(lambda c: evaluate(c, KB), clients(200)) if p.postponed)
    today, booked = (plan_cards(plan, KB, base_url="http://ehr.example", patient="p", link=None, booked=b)[0]["summary"]
                     for b in (False, True))  # fmt: skip
    assert today.startswith("Postpone massage today: ")
    assert booked.startswith("As the record stands today, postpone the booked massage: ")
    assert today.removeprefix("Postpone massage today: ")[:20] in booked
