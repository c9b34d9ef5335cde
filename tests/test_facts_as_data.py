"""Risk factors declared in the knowledge file: a layered file adds one, and every way in accepts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from osteocheck.cli.app import app
from osteocheck.client.records import derive as fhir
from osteocheck.client.schema import profile_schema
from osteocheck.engine.evaluate import evaluate
from osteocheck.engine.model import Knowledge
from osteocheck.knowledge import loader as knowledge_module
from osteocheck.vocabulary import BOOL_FACTS, FLAGS, SITE_FACTS

CLINIC = ROOT / "examples" / "clinic" / "aromatase_inhibitors.yaml"


def clinic() -> Knowledge:
    """Loaded in each test that needs it, so the build of a layered fact counts towards that test."""
    return knowledge_module.load(CLINIC)


def invoke(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(argv), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def site_caps(plan: dict[str, object]) -> dict[str, int]:
    return {s["site"]: s["max_pressure"] for s in plan["sites"]}  # type: ignore[attr-defined, index]


def test_the_shipped_file_declares_every_contract_fact_with_its_flag(kb: object) -> None:
    declared = {f.id: f for f in knowledge_module.load(knowledge_module.shipped_path()).facts}
    assert set(declared) == {*BOOL_FACTS, *SITE_FACTS}
    for fact_id, fact in declared.items():
        assert fact.flag == FLAGS[fact_id] and fact.question and fact.meaning
        assert fact.per_site == (fact_id in SITE_FACTS)


def test_the_example_adds_a_fact_with_no_code_change() -> None:
    code, out, err = invoke("validate", str(CLINIC))
    assert code == 0, err
    code, out, err = invoke(
        "plan", "--rules", str(CLINIC), "--stage", "osteopenia", "--fact", "aromatase_inhibitors", "-f", "json"
    )
    assert code == 0, err
    plan = json.loads(out)
    assert plan["profile"]["aromatase_inhibitors"] is True
    assert site_caps(plan) == {"wrists": 1, "spine": 1, "hips": 1}
    reasons = {r["rule"] for s in plan["sites"] for r in s["reasons"]}
    assert "aromatase_inhibitors_bone_caution" in reasons
    code, out, _ = invoke("plan", "--rules", str(CLINIC), "--stage", "osteopenia", "-f", "json")
    assert site_caps(json.loads(out)) == {"wrists": 2, "spine": 2, "hips": 2}


def test_a_fact_no_loaded_knowledge_declares_is_an_error() -> None:
    code, _, err = invoke("plan", "--fact", "aromatase_inhibitors")
    assert code == 2 and "unknown profile key 'aromatase_inhibitors'" in err
    code, _, err = invoke("plan", "--rules", str(CLINIC), "--fact", "aromatase_inhibitor")
    assert code == 2 and "(did you mean 'aromatase_inhibitors'?)" in err


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["--fact", "dvt"], "--dvt: a per-site fact needs its site: --fact dvt=SITE"),
        (["--fact", "fever=legs"], "--fever: a yes/no fact takes no site; give it as --fever"),
        (["--fact", "dvt=leg"], "--dvt: unknown site 'leg' (did you mean 'legs'?)"),
    ],
)
def test_fact_flags_that_do_not_fit_the_declaration_are_errors(given: list[str], message: str) -> None:
    code, out, err = invoke("plan", *given)
    assert code == 2 and message in err and out == ""


def test_fact_flags_and_the_contract_flags_agree() -> None:
    by_fact = invoke("plan", "--fact", "dvt=legs", "--fact", "fever", "--fact", "cancer_in_bone=ribs", "-f", "json")
    by_flag = invoke("plan", "--dvt", "legs", "--fever", "--cancer-in-bone", "ribs", "-f", "json")
    assert by_fact == by_flag and by_fact[0] == 0


def test_profile_files_batch_and_schema_accept_the_new_fact(tmp_path: Path) -> None:
    profile = tmp_path / "ann.yaml"
    profile.write_text("stage: osteopenia\naromatase_inhibitors: true\n", encoding="utf-8")
    code, out, err = invoke("plan", "--rules", str(CLINIC), "--profile", str(profile), "-f", "json")
    assert code == 0, err
    assert site_caps(json.loads(out))["spine"] == 1
    roster = tmp_path / "roster.csv"
    roster.write_text("id,stage,aromatase_inhibitors\na,osteopenia,yes\nb,osteopenia,no\nc,osteopenia,maybe\n")
    code, out, err = invoke("batch", "--rules", str(CLINIC), str(roster))
    lines = [json.loads(line) for line in out.splitlines()]
    assert [row["sites"] for row in lines[:2]] == [
        {"wrists": 1, "spine": 1, "hips": 1},
        {"wrists": 2, "spine": 2, "hips": 2},
    ]
    assert "expected true or false" in lines[2]["error"] and code == 1
    schema = profile_schema(clinic())
    assert schema["properties"]["aromatase_inhibitors"]["type"] == "boolean"


def test_intake_asks_the_new_fact(tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    kb = clinic()
    questions = 3 + len(kb.facts) + 1
    answers = ["y" if i == 3 + [f.id for f in kb.facts].index("aromatase_inhibitors") else "" for i in range(questions)]
    code, _, err = invoke("intake", "--rules", str(CLINIC), "-o", str(target), stdin="\n".join([*answers, ""]) + "\n")
    assert code == 0, err
    assert "Takes an aromatase inhibitor" in err
    assert json.loads(target.read_text(encoding="utf-8")) == {"aromatase_inhibitors": True}


def test_a_record_sets_the_new_fact_through_its_declared_codes() -> None:
    bundle = {
        "resourceType": "Bundle",
        "timestamp": "2026-01-01T00:00:00Z",
        "entry": [
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "status": "active",
                    "medicationCodeableConcept": {
                        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "199224"}]
                    },
                }
            }
        ],
    }
    kb = clinic()
    assert [c.code for c in kb.fact("aromatase_inhibitors").codes] == ["199224", "200064", "310261"]  # type: ignore[union-attr]
    assert {(c.section, c.system, c.prefix) for c in kb.fact("aromatase_inhibitors").codes} == {
        ("medications", "rxnorm", False)
    }  # type: ignore[union-attr]
    imported = fhir.derive(bundle, fhir.load_code_map(), kb)
    assert imported.data == {"aromatase_inhibitors": True}
    shipped = fhir.derive(bundle, fhir.load_code_map(), knowledge_module.load(knowledge_module.shipped_path()))
    assert shipped.data == {} and shipped.unrecognised


def test_the_new_fact_only_ever_adds_restrictions() -> None:
    from osteocheck.engine.model import Profile

    kb = clinic()
    for stage in (None, "osteopenia", "osteoporosis", "severe"):
        base = evaluate(Profile.make(stage=stage), kb)
        more = evaluate(Profile.make(stage=stage, aromatase_inhibitors=True), kb)
        for s in kb.site_ids:
            b, m = base.site(s), more.site(s)
            assert (m.max_pressure if m else more.max_pressure) <= (b.max_pressure if b else base.max_pressure)
        assert all(m.status.rank >= b.status.rank for m, b in zip(more.techniques, base.techniques, strict=True))
