"""`plan --format fhir`: a Bundle valid against the R4 base resources, that says what the JSON plan says.

Validated with fhir.resources 6.0–6.1 (the FHIR 4.0.1 models): structure, types, cardinality, no
unknown elements; and each coded element against the codes the R4 definition lists for it.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, plan_json
from processes import run
from test_exhaustive import KB, RULES

RECORDS = sorted((ROOT / "examples" / "fhir").glob("*.json")) + sorted(
    (ROOT / "tests/data/fhir/synthea").glob("*.json")
)
FLAGS = [
    (),
    ("--fracture-history", "--anticoagulants"),
    ("--stage", "severe", "--fresh-fracture", "spine", "--dvt", "legs", "--fever", "--cancer-in-bone", "ribs"),
    ("--stage", "osteoporosis", "--fresh-fracture", "wrists", "--cleared", "wrists"),
]

EFFECTS = {rule_id: rule.effects for rule_id, rule in RULES.items()}
TECHNIQUES = {t.name: t.id for t in KB.techniques}
CAPPED = re.compile(r"Keep to pressure level \d+ \([^)]*\) or lighter\.")


def _about(code: str, head: str, names: Iterable[str]) -> str | None:
    """The technique an issue's code names after `head` ("Modify: Passive stretching", or with its rule's
    words after a colon when another issue would read the same)."""
    if not code.startswith(head):
        return None
    rest = code.removeprefix(head)
    return next((name for name in names if rest == name or rest.startswith(f"{name}: ")), None)


def _each_cites_a_rule_that_says_so(issues: list[dict[str, Any]]) -> None:
    """A site's "Do not treat" issue cites a rule that says not to treat it, never a pressure cap it overrules;
    a "Modify" issue says how its own rule modifies the technique, not how the others do."""
    for issue in issues:
        code, rule = issue["code"]["text"], issue["detail"].split("(rule ", 1)[1].split(";", 1)[0]
        if code.startswith("Do not treat: "):
            assert EFFECTS[rule].no_treatment, issue["detail"]
        elif (technique := _about(code, "Modify: ", TECHNIQUES)) is not None:
            how = issue["mitigation"][0]["action"]["text"]
            own = dict(EFFECTS[rule].modify).get(TECHNIQUES[technique])
            left = CAPPED.sub("", how) if EFFECTS[rule].max_pressure is not None else how
            assert left.replace(own or "", "").strip() == "", (rule, how)


def r4() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic 1 on newer Pythons warns about its own internals
        fhir = pytest.importorskip("fhir.resources", reason="the R4 models come with the test extra")
        from fhir.resources import construct_fhir_element
    assert fhir.__fhir_version__ == "4.0.1"
    return construct_fhir_element


def validate(resource: dict[str, Any]) -> None:
    model = r4()(resource["resourceType"], resource)
    _codes_allowed(model, resource["resourceType"])


def _codes_allowed(model: Any, where: str) -> None:
    """Every element whose definition lists its codes holds one of them (the models check types, not codes)."""
    for name, field in model.__fields__.items():
        value = getattr(model, name)
        allowed = field.field_info.extra.get("enum_values")
        if allowed and value is not None:
            assert value in allowed, f"{where}.{name} = {value!r}, not one of {allowed}"
        for item in value if isinstance(value, list) else [value]:
            if hasattr(item, "__fields__"):
                _codes_allowed(item, f"{where}.{name}")


def fhir_plan(*argv: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plan as FHIR and as JSON, from the command line in this process."""
    dated = _dated(argv)
    return plan_json(*dated, form="fhir"), plan_json(*dated)


def _dated(argv: tuple[str, ...]) -> tuple[str, ...]:
    """A record is judged at a fixed day, so its plan is the same any day the suite runs."""
    return (*argv, "--as-of", "2026-01-01") if "--fhir" in argv else argv


def fhir_from_a_process(*argv: str) -> dict[str, Any]:
    done = run([sys.executable, "-m", "osteocheck", "plan", *_dated(argv), "-f", "fhir"])
    assert done.returncode == 0, done.stderr
    bundle: dict[str, Any] = json.loads(done.stdout)
    return bundle


@pytest.mark.parametrize("flags", FLAGS, ids=["none", "readme", "severe-everything", "cleared"])
def test_the_bundle_is_valid_r4_and_agrees_with_the_plan(flags: tuple[str, ...]) -> None:
    bundle, plan = fhir_plan(*flags)
    validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    for resource in resources:
        validate(resource)
    care = resources[0]
    assert care["resourceType"] == "CarePlan"
    assert care["status"] == {"yes": "active", "after_clearance": "on-hold", "postpone": "on-hold"}[plan["proceed"]]
    refused = {a["detail"]["code"]["text"] for a in care["activity"] if a["detail"].get("doNotPerform")}
    excluded = {t["name"] for t in plan["techniques"] if t["status"] == "excluded"}
    avoided = {f"Position: {p['name']}" for p in plan["positions"] if p["status"] == "avoid"}
    assert refused == excluded | avoided
    issues = [r for r in resources if r["resourceType"] == "DetectedIssue"]
    codes = " | ".join(i["code"]["text"] for i in issues)
    for t in plan["techniques"]:
        assert (f"Do not use: {t['name']}" in codes) == (t["status"] == "excluded")
        # a modified technique's issues say how, each what its own rule asks: together, all the plan asks
        hows = [
            i["mitigation"][0]["action"]["text"]
            for i in issues
            if _about(i["code"]["text"], "Modify: ", TECHNIQUES) == t["name"]
        ]
        assert all(m in " ".join(hows) for m in t["modifications"])
        for how in hows:
            for m in t["modifications"]:
                how = how.replace(m, "")
            assert not how.strip(), (t["name"], how)
    for c in plan["clearance_required"]:
        assert f"Physician clearance required: {', '.join(c['sites'])}" in codes
    for s in plan["sites"]:
        assert (f"Do not treat: {s['site']}" in codes) == s["no_treatment"]
    _each_cites_a_rule_that_says_so(issues)
    rules = {r["rule"] for t in plan["techniques"] for r in t["reasons"]}
    assert all(any(f"(rule {rule};" in i["detail"] for i in issues) for rule in rules)
    assert {s["reference"] for s in care.get("supportingInfo", [])} == {e["fullUrl"] for e in bundle["entry"][1:]}


@pytest.mark.parametrize("record", RECORDS, ids=lambda p: p.stem[:30])
def test_from_a_record_issues_point_at_the_resources_they_rest_on(record: Path) -> None:
    bundle, plan = fhir_plan("--fhir", str(record))
    validate(bundle)
    source = json.loads(record.read_text())
    ids = {f"{e['resource']['resourceType']}/{e['resource'].get('id')}" for e in source["entry"]}
    patient = next(r for r in ids if r.startswith("Patient/"))
    resources = [e["resource"] for e in bundle["entry"]]
    assert resources[0]["subject"] == {"reference": patient}
    pointed = {d["reference"] for r in resources for ev in r.get("evidence", []) for d in ev.get("detail", [])}
    assert pointed <= ids  # every pointer names a resource of the record
    noted = [n["text"] for n in resources[0].get("note", [])]  # what the record leaves to the therapist
    assert all(f"From the record: {note}" in noted for note in plan["record"]["notes"])
    _each_cites_a_rule_that_says_so([r for r in resources if r["resourceType"] == "DetectedIssue"])
    if any(t["status"] != "safe" for t in plan["techniques"]) and plan["record"]["used"][1:]:
        assert pointed, "a plan read from a record should point at the resources it used"


def test_the_same_plan_gives_the_same_bundle() -> None:
    """In two processes, each with its own hash seed, and in this one."""
    first = fhir_from_a_process("--fracture-history")
    assert fhir_from_a_process("--fracture-history") == first
    assert fhir_plan("--fracture-history")[0] == first


def test_no_two_issues_read_the_same_and_each_cites_a_rule_that_says_so() -> None:
    """An EHR lists DetectedIssues by code, as it lists cards by summary: two rules that modify one technique
    differently, or that both say not to treat a site, each say their own words (generated clients, in
    process)."""
    from osteocheck.engine.evaluate import evaluate
    from osteocheck.render.fhirout import plan_bundle
    from test_cards import clients

    told = 0
    for client in clients(300):
        resources = [e["resource"] for e in plan_bundle(evaluate(client, KB), KB)["entry"]]
        issues = [r for r in resources if r["resourceType"] == "DetectedIssue"]
        codes = Counter(issue["code"]["text"] for issue in issues)
        assert [code for code, n in codes.items() if n > 1] == [], client
        told += sum(code.count(": ") > 1 for code in codes)
        _each_cites_a_rule_that_says_so(issues)
    assert told > 0  # the shipped rules do make issues that need telling apart


def test_an_invalid_bundle_is_caught_by_the_check() -> None:
    """The check itself can fail: a wrong code and a missing element are both reported."""
    with pytest.raises(AssertionError):
        validate({"resourceType": "CarePlan", "status": "bogus", "intent": "proposal", "subject": {"display": "x"}})
    with pytest.raises(Exception, match="subject"):
        validate({"resourceType": "CarePlan", "status": "active", "intent": "proposal"})


def test_fhir_goes_to_a_json_file_and_not_to_other_extensions(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    done = run([sys.executable, "-m", "osteocheck", "plan", "--fever", "-f", "fhir", "-o", str(out)])
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["resourceType"] == "Bundle"
    done = run([sys.executable, "-m", "osteocheck", "plan", "--fever", "-f", "fhir", "-o", str(tmp_path / "plan.md")])
    assert done.returncode == 2 and "contradicts" in done.stderr


def test_a_plan_for_a_later_session_covers_that_day() -> None:
    """`--session`: the CarePlan an EHR stores is for that day's session, and says the record is today's."""
    record = str(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    bundle, _ = fhir_plan("--fhir", record, "--session", "2026-02-01")
    validate(bundle)
    care = bundle["entry"][0]["resource"]
    validate(care)
    assert care["period"] == {"start": "2026-02-01", "end": "2026-02-01"}
    assert care["description"].startswith("The session of 2026-02-01, as the record stands today: Proceed only after")
    assert "period" not in fhir_plan("--fhir", record)[0]["entry"][0]["resource"]
