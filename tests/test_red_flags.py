"""Red flags and the review's profiles: fever, a clot, new back pain, cancer in bone, steroids, self-care."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from conftest import mapped
from osteocheck.cli.app import app
from osteocheck.client.records import derive as fhir
from osteocheck.engine.model import Knowledge

EVERYTHING = [
    "--stage", "severe", "--fresh-fracture", "spine", "--fresh-fracture", "hips", "--open-wound", "legs",
    "--active-infection", "abdomen", "--post-surgical", "hips", "--anticoagulants", "--corticosteroids",
    "--fragile-skin", "--kyphosis", "--height-loss", "--balance-issues", "--fever", "--new-back-pain",
    "--dvt", "legs", "--cancer-in-bone", "ribs",
]  # fmt: skip


def invoke(*argv: str) -> str:
    result = CliRunner().invoke(app, list(argv))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def plan(*flags: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(invoke("plan", *flags, "--format", "json"))
    return data


def caps(p: dict[str, object]) -> dict[str, int]:
    return {s["site"]: s["max_pressure"] for s in p["sites"]}  # type: ignore[attr-defined, index]


def status(p: dict[str, object], technique: str) -> dict[str, object]:
    return next(t for t in p["techniques"] if t["id"] == technique)  # type: ignore[attr-defined, no-any-return]


def positions(p: dict[str, object]) -> dict[str, str]:
    return {x["id"]: x["status"] for x in p["positions"]}  # type: ignore[attr-defined, index]


def self_care(p: dict[str, object]) -> tuple[set[str], set[str]]:
    given = {s["id"] for s in p["self_care"]}  # type: ignore[attr-defined, index]
    return given, {s["id"] for s in p["self_care_withheld"]}  # type: ignore[attr-defined, index]


def test_fever_postpones_the_session_first_in_every_view() -> None:
    p = plan("--fever")
    assert p["proceed"] == "postpone"
    assert [r["rule"] for r in p["postpone"]] == ["fever_postpone"]  # type: ignore[attr-defined, index]
    assert status(p, "lymphatic_drainage")["status"] == "excluded"
    assert {"water_exercise", "epsom_soak"} <= self_care(p)[1]
    assert invoke("plan", "--fever").splitlines()[0].startswith("osteocheck plan  proceed: no: postpone the session")
    assert invoke("plan", "--fever").splitlines()[1].startswith("Postpone today: fever or whole-body infection")
    assert "POSTPONE THE SESSION" in invoke("plan", "--fever", "--details")
    assert "**Postpone today:** fever or whole-body infection" in invoke("plan", "--fever", "-f", "markdown")
    assert "## Postpone the session" in invoke("plan", "--fever", "-f", "markdown", "--details")
    for command in (["excluded"], ["explain", "vibration"], ["assess"]):
        assert invoke(*command, "--fever").splitlines()[0].startswith("proceed: no: postpone the session")
    assert "Not today: the session is postponed." in invoke("letter", "--fever")
    assert "Your massage: put off for now" in invoke("selfcare", "--fever")
    assert "Session: proceed no: postpone the session" in invoke("assess", "--fever", "--format", "markdown")


def test_batch_records_say_postpone(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("id,fever,dvt\na,yes,\nb,,legs\nc,,\n", encoding="utf-8")
    rows = [json.loads(line) for line in invoke("batch", str(roster)).splitlines()]
    assert [r["proceed"] for r in rows] == ["postpone", "postpone", "yes"]
    assert rows[1]["sites"]["legs"] == 0 and rows[1]["techniques"]["lymphatic_drainage"] == "excluded"


def test_an_infection_a_record_places_nowhere_counts_as_whole_body(kb: Knowledge) -> None:
    bundle = {
        "resourceType": "Bundle",
        "timestamp": "2026-01-01T00:00:00Z",
        "entry": [
            {
                "resource": {
                    "resourceType": "Condition",
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": mapped("conditions", kind="infection", system="snomed", sites=None),
                }
            }
        ],
    }
    imported = fhir.derive(bundle, fhir.load_code_map(), kb)
    assert imported.data == {"fever": True}
    assert any("infection of the whole body" in n for n in imported.notes)


def test_a_clot_postpones_and_its_limb_is_never_treated_even_once_cleared() -> None:
    p = plan("--dvt", "legs")
    assert p["proceed"] == "postpone" and caps(p)["legs"] == 0
    assert status(p, "lymphatic_drainage")["status"] == "excluded"
    cleared = plan("--dvt", "legs", "--cleared", "legs")
    assert cleared["proceed"] == "yes" and caps(cleared)["legs"] == 0
    assert status(cleared, "lymphatic_drainage")["status"] == "excluded"
    assert "legs" in status(cleared, "light_effleurage")["avoid_sites"]  # type: ignore[operator]


def test_new_back_pain_is_treated_as_a_possible_vertebral_fracture() -> None:
    p = plan("--stage", "osteopenia", "--new-back-pain")
    assert p["proceed"] == "after_clearance" and caps(p)["spine"] == 0
    assert positions(p)["prone"] == "avoid" and positions(p)["massage_chair"] == "avoid"
    cleared = plan("--stage", "osteopenia", "--new-back-pain", "--cleared", "spine")
    assert cleared["proceed"] == "yes" and caps(cleared)["spine"] == 1
    assert positions(cleared)["massage_chair"] == "avoid"


def test_cancer_in_bone_needs_clearance_and_stays_light_after() -> None:
    p = plan("--stage", "osteopenia", "--cancer-in-bone", "ribs")
    assert p["proceed"] == "after_clearance" and caps(p)["ribs"] == 0
    cleared = plan("--stage", "osteopenia", "--cancer-in-bone", "ribs", "--cleared", "ribs")
    assert caps(cleared)["ribs"] == 1 and "ribs" in status(cleared, "passive_stretching")["avoid_sites"]  # type: ignore[operator]


def test_steroids_bring_bone_and_skin_caution_whatever_the_stage() -> None:
    p = plan("--stage", "osteopenia", "--corticosteroids")
    assert caps(p) == {"wrists": 1, "spine": 1, "hips": 1} and p["max_pressure"]["level"] == 2  # type: ignore[index]
    for technique in ("light_effleurage", "lymphatic_drainage", "craniosacral_therapy"):
        assert status(p, technique)["status"] == "modify"
    assert "heat_caution" in self_care(p)[0]
    letter = invoke("letter", "--stage", "osteopenia", "--corticosteroids", "--anticoagulants")
    assert "at what dose and for how long" in letter and "is the INR stable" in letter


def test_fragile_skin_caps_pressure() -> None:
    assert plan("--stage", "osteopenia", "--fragile-skin")["max_pressure"]["level"] == 2  # type: ignore[index]


def test_positions_never_contradict_the_fracture_and_surgery_blocks() -> None:
    for flags in (["--kyphosis", "--fresh-fracture", "spine"], ["--balance-issues", "--fresh-fracture", "spine"]):
        assert positions(plan(*flags))["massage_chair"] == "avoid"
    for flags in (["--stage", "severe", "--fresh-fracture", "hips"], ["--post-surgical", "hips", "--kyphosis"]):
        p = plan(*flags)
        assert positions(p)["side_lying"] == "avoid"
        assert "side_lying" not in {x["id"] for x in p["positioning"]}  # type: ignore[attr-defined, index]


def test_self_care_never_sends_a_client_to_the_pool_or_bath_against_the_plan() -> None:
    for flags in (["--open-wound", "legs"], ["--post-surgical", "hips"], ["--active-infection", "arms"]):
        given, withheld = self_care(plan(*flags))
        assert {"water_exercise", "epsom_soak"} <= withheld and not {"water_exercise", "epsom_soak"} & given
    given, withheld = self_care(plan("--balance-issues"))
    assert "epsom_soak" in withheld and "bath_safety" in given and "water_exercise" in given
    sheet = invoke("selfcare", "--open-wound", "legs", "--balance-issues")
    assert "## Not for you for now" in sheet
    assert "Epsom" not in sheet.split("## Not for you for now")[0]
    assert "water" not in sheet.split("## Not for you for now")[0].lower()


def test_every_client_gets_spine_sparing_and_strength_and_balance_advice() -> None:
    given, _ = self_care(plan("--stage", "osteopenia"))
    assert {"spine_sparing_movement", "strength_and_balance_training", "red_flags"} <= given


def test_the_severe_with_everything_profile_is_postponed() -> None:
    p = plan(*EVERYTHING)
    assert p["proceed"] == "postpone"
    assert {r["rule"] for r in p["postpone"]} == {"fever_postpone", "clot_refer_first"}  # type: ignore[attr-defined, index]
    assert positions(p)["massage_chair"] == "avoid" and positions(p)["side_lying"] == "avoid"
    assert positions(p)["prone"] == "avoid"
    assert status(p, "lymphatic_drainage")["status"] == "excluded"
    assert {"water_exercise", "epsom_soak"} <= self_care(p)[1]
    assert {s for s, cap in caps(p).items() if cap == 0} == {"ribs", "spine", "abdomen", "hips", "legs"}
    steps = {s["id"] for s in p["assessment"] if s["pressing"]}  # type: ignore[attr-defined, index]
    assert {"bleeding_screen", "clot_screen", "collaborate_physician"} <= steps
