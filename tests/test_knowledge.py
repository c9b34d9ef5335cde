"""The shipped knowledge file: loads clean, encodes and cites the whole source text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, SHIPPED, SOURCE_TEXT
from osteocheck.engine.model import Knowledge
from osteocheck.knowledge import catalogue
from osteocheck.knowledge import loader as knowledge_module
from osteocheck.knowledge.citations import parts
from osteocheck.vocabulary import BOOL_FACTS, SITE_FACTS

HEADINGS = {"Osteoporosis Massage", "Signs & Symptoms", "Contraindications", "Assessment", "Treatment", "Self Care"}


def statements(text: str) -> list[str]:
    """The source split into its statements: each bullet, and each sentence of the summary."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line == "-" or line in HEADINGS:
            continue
        out.extend(s.strip() for s in re.split(r"(?<=\.)\s+(?=[A-Z])", line) if s.strip())
    return out


def all_quotes(kb: Knowledge) -> set[str]:
    entries = [*kb.summary, *kb.goals, *kb.signs, *kb.assessment, *kb.self_care]
    bases = [e.basis for e in entries]
    bases += [t.basis for t in kb.techniques] + [p.basis for p in kb.positioning]
    bases += [r.basis for r in kb.rules] + [p.basis for p in kb.pressure_scale] + [kb.bone_density.basis]
    return {b.source.quote for b in bases}


def test_shipped_file_loads_with_zero_problems() -> None:
    knowledge, problems = knowledge_module.check(SHIPPED)
    assert knowledge is not None
    assert problems == ()


def test_every_statement_of_the_source_is_cited(kb: Knowledge) -> None:
    found = statements(SOURCE_TEXT.read_text(encoding="utf-8"))
    assert len(found) == 26  # 2 summary sentences + 5 signs + 4 + 4 + 5 + 6 bullets
    quotes = all_quotes(kb)
    missing = [s for s in found if s not in quotes]
    assert missing == []


def test_source_copies_match_the_shared_originals() -> None:
    shared = ROOT.parent / "shared" / "source"
    if not shared.is_dir():
        pytest.skip(f"{shared} is absent: the shared originals sit beside a checkout, not in an sdist")
    for name in ("000_360acb9329b9f714.txt", "REFERENCES.md"):
        assert (ROOT / "data" / "sources" / name).read_bytes() == (shared / name).read_bytes()


def test_every_risk_factor_has_a_rule(kb: Knowledge) -> None:
    named: set[str] = set()
    for rule in kb.rules:
        named.update(re.findall(r"[a-z_]+", rule.when.describe()))
        if rule.for_each:
            named.add(rule.for_each)
    assert {*BOOL_FACTS, *SITE_FACTS} <= named
    assert {f.id for f in kb.facts} <= named
    stages = {r.when.describe() for r in kb.rules}
    assert {"stage at least osteoporosis", "stage at least severe"} <= stages


def test_inferences_carry_a_rationale(kb: Knowledge) -> None:
    for rule in kb.rules:
        if rule.basis.inference:
            assert len(rule.basis.inference) > 30, rule.id


def test_contract_vocabulary_is_present(kb: Knowledge) -> None:
    assert set(catalogue.REQUIRED_SITES) <= set(kb.site_ids)
    assert set(catalogue.REQUIRED_TECHNIQUES) <= set(kb.technique_ids)
    assert {s.id for s in kb.sites if s.at_risk} == {"spine", "hips", "wrists"}
    assert [p.level for p in kb.pressure_scale] == [1, 2, 3, 4, 5]


def test_quote_not_in_source_is_an_error(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace(
        'quote: "Generalized bone pain or tenderness"', 'quote: "Generalised bone pain"'
    )
    bad = tmp_path / "k.yaml"
    bad.write_text(text, encoding="utf-8")
    (tmp_path / "sources").symlink_to(SHIPPED.parent / "sources")
    _, problems = knowledge_module.check(bad)
    assert [p.message for p in problems] == [
        "quote not found in source file sources/000_360acb9329b9f714.txt: it ends as the source does from"
        ' "bone pain", after "Generalised" where the source has "…Signs & Symptoms - Generalized"'
    ]


def test_a_quote_not_found_says_where_it_parts_from_its_source_at_a_word_s_end() -> None:
    text = "Careful with passive stretching - no forceful movements or pressure on susceptible bones."
    assert parts("Careful with passive stretching - no forceful movement or pressure", text) == (
        ': it follows the source as far as "…ssive stretching - no forceful", then reads'
        ' "movement or pressure" where the source reads "movements or pressure on susce…"'
    )
    assert parts("Be careful with passive stretching - no", text) == (
        ': it ends as the source does from "with passive stretching - no", after "Be careful" where the source'
        ' has "Careful"'
    )
    assert parts("nothing like it at all", text).startswith(": no stretch of it stands in the source")


def test_every_field_is_carried_into_the_typed_knowledge(kb: Knowledge) -> None:
    items = {i.id: i for i in kb.self_care}
    assert items["safe_home"].advice.startswith("Make your home safe from falls")
    assert items["safe_home"].always is True and items["heat_caution"].always is False
    assert {s.id: s.facts for s in kb.signs}["kyphosis_height_loss"] == ("kyphosis", "height_loss")
    assert {s.id: s.facts for s in kb.signs}["bone_pain"] == ()
    assert kb.technique("light_effleurage").category == "gentle Swedish"
    assert kb.technique("light_effleurage").basis.source.title == "Osteoporosis Massage (primary clinical text)"
    seated = next(p for p in kb.positioning if p.id == "seated")
    assert (seated.id, seated.name) == ("seated", "Seated upright, back supported") and seated.fits.startswith(
        "Clients who find"
    )
    assert [p.id for p in kb.positioning] == ["prone", "supine", "seated", "massage_chair", "bolstering", "side_lying"]
    sites = {s.id: s for s in kb.sites}
    assert sites["head"].name == "head" and sites["head"].at_risk is False and sites["spine"].at_risk is True
    assert kb.bone_density.convention.startswith("normal: T >= -1.0")
    assert (kb.bone_density.normal_at_or_above, kb.bone_density.osteoporosis_at_or_below) == (-1.0, -2.5)
    assert kb.pressure_scale[0].feel == "full-hand contact, the pressure of spreading lotion on sunburn"
    rules = {r.id: r for r in kb.rules}
    wound = rules["open_wound_no_treatment"]
    assert (wound.unless_cleared, wound.effects.no_treatment, wound.effects.clearance, wound.for_each) == (
        True,
        True,
        True,
        "open_wounds",
    )
    gentle = rules["no_deep_pressure"]
    assert (gentle.unless_cleared, gentle.effects.no_treatment, gentle.effects.clearance, gentle.client_reason) == (
        False,
        False,
        False,
        "",
    )
    assert rules["balance_safe_home"].client_reason.startswith("Your balance is less steady")
    assert kb.summary[0].text.startswith("A gentle, cautious therapy") and kb.goals[0].id == "treatment_focus"


def test_statement_fields_reach_the_typed_knowledge_on_a_fresh_load() -> None:
    fresh, problems = knowledge_module.check(SHIPPED, use_cache=False)
    assert fresh is not None and not [p for p in problems if p.is_error]
    care = {i.id: i for i in fresh.self_care}
    assert care["comfort_measures"].on_body is True and care["epsom_soak"].on_body is False
    assert care["safe_home"].advice.startswith("Make your home safe from falls")
    assert {i.id: i.advice for i in fresh.assessment}["review_history"] == ""
    fever = fresh.fact("fever")
    assert fever is not None and (fever.flag, fever.per_site, fever.help != "") == ("--fever", False, True)
    kyphosis = fresh.fact("kyphosis")
    assert kyphosis is not None and kyphosis.help == "" and kyphosis.codes == ()
