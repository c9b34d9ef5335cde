"""A plan's evidence cites exactly the resources that changed each fact: the record reader's change log
says what a before-and-after comparison of the findings says, on every record here."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from conftest import ROOT
from osteocheck.client.records import derive as derive_module
from osteocheck.client.records.findings import Findings
from osteocheck.engine.model import Knowledge
from osteocheck.service.hooks import bulk_records

CODES = derive_module.load_code_map()
RECORDS = {
    **{p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "examples" / "fhir").glob("*.json"))},
    **{
        p.name[:24]: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((ROOT / "tests" / "data" / "fhir" / "synthea").glob("*.json"))
    },
    **{f"bulk-{i}": b for i, b in enumerate(bulk_records(ROOT / "tests" / "data" / "fhir" / "bulk-ndjson"))},
}


def _state(found: Findings) -> dict[str, object]:
    """The findings fact by fact: sites only grow, so a list's length says whether one was added."""
    now: dict[str, object] = {k: len(v) if isinstance(v, list) else v for k, v in found.data.items()}
    now["stage"], now["t_score"] = len(found.stages), len(found.t_scores)
    return now


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_evidence_is_what_comparing_before_and_after_each_resource_gives(
    name: str, kb: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected: dict[str, list[str]] = {}
    read = derive_module.read_resource

    def compared(found: Findings, r: dict[str, Any], references: derive_module.References) -> None:
        before = _state(found)
        read(found, r, references)
        after = _state(found)
        reference = f"{r['resourceType']}/{r['id']}" if isinstance(r.get("id"), str) and r["id"] else None
        for fact in (f for f, value in after.items() if before.get(f) != value):
            if reference is not None and reference not in expected.setdefault(fact, []):
                expected[fact].append(reference)

    monkeypatch.setattr(derive_module, "read_resource", compared)
    bundle = RECORDS[name]
    patients = [e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    imported = derive_module.derive(bundle, CODES, kb, patient=patients[0] if len(patients) > 1 else None)
    assert list(imported.evidence) == [(fact, tuple(refs)) for fact, refs in expected.items() if refs]
    assert imported.evidence, "every record here gives some fact"


def test_the_readers_change_the_findings_only_through_its_methods() -> None:
    """A write around them would set a fact no evidence points at."""
    writes = re.compile(
        r"\.data\[[^\]]*\]\s*=|\.data\.setdefault|\.data\.update|\.(stages|t_scores)\.(append|extend|insert)"
    )
    for path in sorted((ROOT / "src" / "osteocheck" / "client" / "records").glob("*.py")):
        if path.name != "findings.py":
            assert not writes.search(path.read_text(encoding="utf-8")), path.name


def test_each_resource_is_judged_by_its_own_subject_however_often_a_reference_repeats(kb: Knowledge) -> None:
    """The reader remembers, per record, whose each reference is: never across patients or forms."""
    fracture = next(e for e in CODES.entries("conditions") if e.get("kind") == "fracture" and not e.get("prefix"))
    code = {"coding": [{"system": CODES.systems[fracture["system"]], "code": fracture["code"]}]}

    def condition(ident: str, subject: str) -> dict[str, Any]:
        return {"resource": {"resourceType": "Condition", "id": ident, "code": code, "subject": {"reference": subject}}}

    forms = {"a": ["urn:uuid:a", "Patient/a", "https://ehr.example/fhir/Patient/a"], "b": ["urn:uuid:b", "Patient/b"]}
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"urn:uuid:{p}", "resource": {"resourceType": "Patient", "id": p}} for p in forms
    ]
    for round_ in range(3):  # every form three times, interleaved
        for p, refs in forms.items():
            entries += [condition(f"{p}{round_}{i}", ref) for i, ref in enumerate(refs)]
    record = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    for p, refs in forms.items():
        imported = derive_module.derive(record, CODES, kb, patient=p)
        used = {s.split(" ")[0] for s in imported.used if s.startswith("Condition/")}
        assert used == {f"Condition/{p}{r}{i}" for r in range(3) for i in range(len(refs))}
        assert dict(imported.evidence)["fracture_history"] == (f"Condition/{p}00",)  # the first to set it
        other = sum(len(v) for q, v in forms.items() if q != p) * 3
        assert sum("another patient's" in s for s in imported.set_aside) == other + 1  # and the other Patient
