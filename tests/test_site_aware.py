"""Site-aware verdicts: an allowed technique is still kept from the sites the plan protects, in every view."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osteocheck.cli.app import app

PROFILES = [
    ["--open-wound", "feet"],
    ["--fresh-fracture", "spine", "--anticoagulants"],
    ["--fracture-history", "--post-surgical", "hips", "--kyphosis"],
    ["--stage", "osteopenia", "--active-infection", "arms", "--cleared", "arms"],
]


def invoke(*argv: str) -> str:
    result = CliRunner().invoke(app, list(argv))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_reflexology_with_an_open_wound_on_the_feet_is_not_safe_there() -> None:
    plan = json.loads(invoke("plan", "--open-wound", "feet", "--format", "json"))
    reflexology = next(t for t in plan["techniques"] if t["id"] == "reflexology")
    assert "feet" in reflexology["avoid_sites"]
    explained = invoke("explain", "reflexology", "--open-wound", "feet")
    assert "not over the feet: not to be treated" in explained
    assert "No rule restricts" not in explained


@pytest.mark.parametrize("flags", PROFILES, ids=" ".join)
def test_the_letter_never_names_a_technique_as_used_where_the_plan_forbids_it(flags: list[str]) -> None:
    plan = json.loads(invoke("plan", *flags, "--format", "json"))
    letter = invoke("letter", *flags, "--format", "markdown")
    for tech in plan["techniques"]:
        if tech["status"] == "excluded" or not tech["avoid_sites"]:
            continue
        mentions = re.findall(re.escape(tech["name"]) + r"( \(not over the ([^)]*)\))?", letter)
        assert mentions, tech["name"]
        for _, sites in mentions:
            assert sites.split(", ") == tech["avoid_sites"], (tech["name"], sites)


@pytest.mark.parametrize("flags", PROFILES, ids=" ".join)
def test_every_view_says_proceed_first(flags: list[str]) -> None:
    plan = json.loads(invoke("plan", *flags, "--format", "json"))
    expected = {"yes": "yes", "after_clearance": "only after physician clearance"}[plan["proceed"]]
    assert invoke("plan", *flags).splitlines()[0].startswith(f"osteocheck plan  proceed: {expected}")
    assert invoke("plan", *flags, "--format", "markdown").splitlines()[2] == f"Proceed: **{expected}**"
    assert f"proceed: {expected}" in invoke("excluded", *flags).splitlines()[0]
    assert f"Session: proceed {expected}" in invoke("letter", *flags, "--format", "markdown")
    said = {"yes": "can go ahead", "after_clearance": "after your doctor says it is safe"}[plan["proceed"]]
    assert f"Your massage: {said}" in invoke("selfcare", *flags, "--format", "markdown")  # the client's words
    assert json.loads(invoke("excluded", *flags, "--format", "json"))["proceed"] == plan["proceed"]


def positions(*flags: str) -> dict[str, str]:
    plan = json.loads(invoke("plan", *flags, "--format", "json"))
    return {p["id"]: p["status"] for p in plan["positions"]}


def test_no_forward_leaning_chair_or_face_down_with_a_fresh_vertebral_fracture() -> None:
    found = positions("--fresh-fracture", "spine", "--kyphosis", "--balance-issues")
    assert found["massage_chair"] == "avoid" and found["prone"] == "avoid"
    assert found["seated"] == "recommended"  # upright and supported, as the source's "chair" is read


def test_no_side_lying_with_a_fractured_or_operated_hip_even_once_cleared() -> None:
    for flags in (
        ["--fresh-fracture", "hips"],
        ["--post-surgical", "hips", "--cleared", "hips"],
        ["--stage", "severe", "--post-surgical", "hips"],
    ):
        found = positions(*flags)
        assert found["side_lying"] == "avoid", flags
        assert found["supine"] == "recommended", flags
    assert (
        "Side-lying"
        not in invoke("letter", "--stage", "severe", "--fresh-fracture", "hips")
        .split("Positions avoided:")[0]
        .split("Positioning:")[-1]
    )


def test_batch_lists_the_positions_to_avoid(tmp_path: Path) -> None:
    rows = tmp_path / "r.jsonl"
    rows.write_text('{"id": 1, "fresh_fractures": ["spine"]}\n{"id": 2}\n', encoding="utf-8")
    lines = [json.loads(line) for line in invoke("batch", str(rows)).splitlines()]
    assert lines[0]["avoid_positions"] == ["prone", "massage_chair"] and lines[1]["avoid_positions"] == []


def test_lymphatic_drainage_is_left_out_with_any_active_infection() -> None:
    plan = json.loads(invoke("plan", "--active-infection", "abdomen", "--cleared", "abdomen", "--format", "json"))
    drainage = next(t for t in plan["techniques"] if t["id"] == "lymphatic_drainage")
    assert drainage["status"] == "excluded"
    assert [r["rule"] for r in drainage["reasons"]] == ["infection_no_lymphatic_drainage"]


def test_anticoagulants_make_the_bleeding_screen_pressing() -> None:
    checklist = json.loads(invoke("assess", "--anticoagulants", "--format", "json"))
    steps = {s["id"]: s for s in checklist["assessment"]}
    assert steps["bleeding_screen"]["pressing"] and steps["collaborate_physician"]["pressing"]
    plain = json.loads(invoke("assess", "--format", "json"))
    assert "bleeding_screen" not in {s["id"] for s in plain["assessment"]}


def test_passive_stretching_is_left_out_at_a_fresh_fracture_or_operated_site_even_once_cleared() -> None:
    plan = json.loads(
        invoke("plan", "--stage", "osteopenia", "--post-surgical", "knees", "--cleared", "knees", "--format", "json")
    )
    stretching = next(t for t in plan["techniques"] if t["id"] == "passive_stretching")
    assert "knees" in stretching["avoid_sites"]
    assert "Passive stretching: Not over: knees" in invoke(
        "excluded", "--stage", "osteopenia", "--post-surgical", "knees", "--cleared", "knees"
    )
    explained = invoke("explain", "passive_stretching", "--fresh-fracture", "ankles", "--cleared", "ankles")
    assert "not over the ankles" in explained and "fresh_fracture_light_only" in explained


def test_palpation_is_never_pressed_over_a_site_not_to_be_treated() -> None:
    checklist = json.loads(invoke("assess", "--fresh-fracture", "spine", "--format", "json"))
    palpate = next(s for s in checklist["assessment"] if s["id"] == "palpate_gently")
    assert palpate["pressing"] and palpate["avoid_sites"] == ["spine"]
    assert "Not over the spine: not to be treated." in invoke(
        "assess", "--fresh-fracture", "spine", "--format", "markdown"
    )
    cleared = json.loads(invoke("assess", "--fresh-fracture", "spine", "--cleared", "spine", "--format", "json"))
    assert next(s for s in cleared["assessment"] if s["id"] == "palpate_gently")["avoid_sites"] == []


@pytest.mark.parametrize("argv", PROFILES, ids=lambda a: " ".join(a)[:40])
def test_a_site_s_line_names_first_the_rules_that_set_it_then_those_they_override(argv: list[str]) -> None:
    from conftest import SHIPPED
    from osteocheck.knowledge.loader import load

    effects = {r.id: r.effects for r in load(SHIPPED).rules}
    plan = json.loads(invoke("plan", *argv, "--format", "json"))
    shown = invoke("plan", *argv, "--details", "--format", "markdown")
    for site in plan["sites"]:
        line = next(x for x in shown.splitlines() if x.startswith(f"- {site['site']}: "))
        setting, _, overridden = line.split(" (", 1)[1].rstrip(")").partition("; overrides ")
        first = [x.strip("` ") for x in setting.split(",")]
        for rule in first:  # each says what the line says (a site rule, or the overall cap when that is lower)
            if site["no_treatment"]:
                assert effects[rule].no_treatment, (line, rule)
            else:
                assert site["max_pressure"] in (effects[rule].site_pressure, effects[rule].max_pressure), (line, rule)
        rest = [x.strip("` ") for x in overridden.split(",") if overridden]
        assert set(first) | set(rest) >= {r["rule"] for r in site["reasons"]}  # and every rule that touches it


def test_where_the_overall_cap_is_lower_than_a_site_s_own_its_rules_come_first(tmp_path: Path) -> None:
    """No shipped rule caps the whole body below a site's own cap; a clinic's layered file may. Then the site
    is at the overall cap, set by that cap's rules, and its own rules are overridden there."""
    layer = tmp_path / "clinic.yaml"
    quote = "Gentle Swedish massage: light effleurage, mild kneading, and vibration, with special care to avoid high-risk bony areas"
    layer.write_text(
        'extends: shipped\nid: clinic\nversion: "1"\ntitle: Clinic\nrules:\n'
        "  - id: clinic_light_throughout\n    when: always\n    severity: warning\n"
        '    text: "Light lotioning only, throughout."\n'
        f'    source: {{ref: text, quote: "{quote}"}}\n'
        "    basis: inferred\n    rationale: A clinic's own caution.\n"
        "    effects: {max_pressure: 1}\n",
        encoding="utf-8",
    )
    argv = ["--stage", "osteopenia", "--rules", str(layer)]
    plan = json.loads(invoke("plan", *argv, "--format", "json"))
    wrists = next(s for s in plan["sites"] if s["site"] == "wrists")
    assert wrists["max_pressure"] == 1 and [r["rule"] for r in wrists["reasons"]] == ["care_at_at_risk_sites"]
    shown = invoke("plan", *argv, "--details", "--format", "markdown")
    assert (
        "- wrists: at most 1, light lotioning (`clinic_light_throughout`; overrides `care_at_at_risk_sites`)" in shown
    )
    explained = invoke("explain", "mild_kneading", *argv)
    assert "not over the wrists, spine, hips: pressure capped at level 1, below its level 2 — rules" in explained
    assert "clinic_light_throughout" in explained and "care_at_at_risk_sites" not in explained
