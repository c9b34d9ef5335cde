"""`batch --fhir-ndjson`: a real FHIR Bulk Data export (unchanged), one screening line per Patient."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from osteocheck.cli.app import app

EXPORT = ROOT / "tests" / "data" / "fhir" / "bulk-ndjson"


def run(*argv: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(app, ["batch", *argv])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines, result.stderr


def test_a_real_export_gives_one_line_per_patient_in_order() -> None:
    code, lines, err = run("--fhir-ndjson", str(EXPORT), "--as-of", "2026-01-01")
    assert code == 0, err
    patients = [json.loads(line)["id"] for line in (EXPORT / "Patient.000.ndjson").read_text().splitlines() if line]
    assert [line["id"] for line in lines] == patients and len(lines) == 13
    assert all(set(line["record"]) == {"used", "set_aside", "not_recognised", "notes"} for line in lines)  # type: ignore[arg-type]
    assert "13 row(s) screened, 0 failed" in err
    by_id = {line["id"]: line for line in lines}
    # an active sepsis (SNOMED, recognised by its name) postpones; an old forearm fracture is fracture history
    assert by_id["129c6ac7-8d06-89de-ad63-0204a93e76c3"]["proceed"] == "postpone"
    assert sum(line["stage"] == "severe" for line in lines) >= 3


def test_full_lines_carry_the_whole_plan(tmp_path: Path) -> None:
    code, lines, _ = run("--fhir-ndjson", str(EXPORT), "--full", "--as-of", "2026-01-01")
    assert code == 0 and lines[0]["schema"] == "osteocheck.plan/1" and lines[0]["profile"]["name"]  # type: ignore[index]


def test_what_cannot_be_read_is_said_and_the_rest_is_screened(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    with (folder / "Condition.000.ndjson").open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps({"resourceType": "Condition", "subject": {"reference": "Patient/nobody"}}) + "\n")
    code, lines, err = run("--fhir-ndjson", str(folder))
    assert code == 1 and len(lines) == 13  # screened, but the line not read may have been anyone's fracture
    assert "Condition.000.ndjson:" in err and "not a JSON resource" in err
    assert "1 resource(s) named no Patient of the export" in err
    assert err.rstrip().endswith("; the export is not whole (1 problem(s) above)")
    assert all(line["record"]["notes"][0].startswith("the export is not whole (1 problem(s)") for line in lines)  # type: ignore[index]


def test_an_id_from_the_export_cannot_print_a_line_of_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    patient = json.dumps({"resourceType": "Patient", "id": "a\n13 row(s) screened, 0 failed\u001b[31m"})
    (folder / "Patient.000.ndjson").write_text(f"{patient}\n{patient}\n", encoding="utf-8")
    code, lines, err = run("--fhir-ndjson", str(folder))
    assert code == 0 and len(lines) == 1 and "appears twice" in err
    assert "\x1b" not in err
    said = [line for line in err.splitlines() if "appears twice" in line]
    assert said[0].startswith("osteocheck: Patient/a 13 row(s) screened")  # the forged words stay on its line


@pytest.mark.parametrize(
    ("field", "code", "said"),
    [
        ("tag", "SUBSETTED", "marked SUBSETTED (some of it left out: a summary"),
        ("security", "REDACTED", "labelled REDACTED (some of it withheld)"),
    ],
)
def test_a_resource_exported_in_part_is_read_and_the_export_is_not_whole(
    tmp_path: Path, field: str, code: str, said: str
) -> None:
    """Exported with `_elements`, a resource is tagged SUBSETTED; withheld in part, labelled REDACTED: what
    it leaves out may be a site or a date."""
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    lines_in = (folder / "Condition.000.ndjson").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines_in[0])
    first["meta"] = {**first.get("meta", {}), field: [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": code}]}  # fmt: skip
    (folder / "Condition.000.ndjson").write_text("\n".join([json.dumps(first), *lines_in[1:]]) + "\n", encoding="utf-8")
    code_, lines, err = run("--fhir-ndjson", str(folder), "--as-of", "2026-01-01")
    assert code_ == 1 and len(lines) == 13
    assert f"Condition.000.ndjson:1: a Condition {said}" in err
    assert all(line["record"]["notes"][0].startswith("the export is not whole (1 problem(s)") for line in lines)  # type: ignore[index]
    (folder / "Condition.000.ndjson").write_text("\n".join(lines_in) + "\n", encoding="utf-8")
    drugs = (folder / "MedicationRequest.000.ndjson").read_text(encoding="utf-8").splitlines()
    inner = {"resourceType": "Medication", "id": "m", "meta": first["meta"]}  # a drug's own, contained
    drugs[0] = json.dumps(json.loads(drugs[0]) | {"contained": [inner]})
    (folder / "MedicationRequest.000.ndjson").write_text("\n".join(drugs) + "\n", encoding="utf-8")
    code_, lines, err = run("--fhir-ndjson", str(folder), "--as-of", "2026-01-01")
    assert code_ == 1 and len(lines) == 13
    assert f"MedicationRequest.000.ndjson:1: a MedicationRequest whose contained Medication is {said}" in err


def test_an_error_the_export_reports_makes_every_row_say_so(tmp_path: Path) -> None:
    """Bulk Data: the server writes what it could not export as OperationOutcomes (the manifest's error
    files). One of severity error means some patient's resources are missing, and which is not known."""
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "informational"}]}
    (folder / "OperationOutcome.000.ndjson").write_text(json.dumps(outcome) + "\n", encoding="utf-8")
    code, lines, err = run("--fhir-ndjson", str(folder), "--as-of", "2026-01-01")
    assert code == 0 and "not whole" not in err and "named no Patient" not in err  # a warning loses nothing
    failed = {"severity": "error", "code": "exception", "diagnostics": "MedicationRequest: export failed"}
    (folder / "OperationOutcome.000.ndjson").write_text(
        json.dumps(outcome | {"issue": [failed]}) + "\n", encoding="utf-8"
    )
    code, lines, err = run("--fhir-ndjson", str(folder), "--as-of", "2026-01-01")
    assert code == 1 and "the export reports an error: MedicationRequest: export failed" in err
    assert len(lines) == 13 and all("not whole" in line["record"]["notes"][0] for line in lines)  # type: ignore[index]


def test_a_resource_naming_a_version_of_its_patient_is_that_patient_s(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    first = json.loads((EXPORT / "Patient.000.ndjson").read_text(encoding="utf-8").splitlines()[0])["id"]
    drug = {"resourceType": "MedicationRequest", "id": "w", "status": "active",
            "subject": {"reference": f"Patient/{first}/_history/2"}, "medicationCodeableConcept": {"text": "warfarin"}}  # fmt: skip
    with (folder / "MedicationRequest.000.ndjson").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(drug) + "\n")
    code, lines, err = run("--fhir-ndjson", str(folder), "--as-of", "2026-01-01", "--full")
    assert code == 0 and "named no Patient" not in err, err
    assert lines[0]["profile"]["anticoagulants"] is True  # type: ignore[index]


def test_an_export_of_another_fhir_version_is_refused_by_name(tmp_path: Path) -> None:
    """R5 names a drug `medication` (R4: medicationCodeableConcept or medicationReference): read as R4, the
    blood thinner would go unread and the plan be quieter than the record."""
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    first = json.loads((EXPORT / "Patient.000.ndjson").read_text(encoding="utf-8").splitlines()[0])["id"]
    drug = {"resourceType": "MedicationRequest", "id": "w", "status": "active", "subject": {"reference": f"Patient/{first}"},
            "medication": {"concept": {"text": "warfarin"}}}  # fmt: skip
    with (folder / "MedicationRequest.000.ndjson").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(drug) + "\n")
    code, lines, err = run("--fhir-ndjson", str(folder))
    assert code == 1 and lines == []
    assert "not a FHIR R4 export (MedicationRequest.medication is an element of FHIR R5)" in err


def test_a_resource_with_a_modifier_is_named_in_its_patient_s_notes(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    first = json.loads((EXPORT / "Patient.000.ndjson").read_text(encoding="utf-8").splitlines()[0])["id"]
    drug = {"resourceType": "MedicationRequest", "id": "w", "status": "active", "subject": {"reference": f"Patient/{first}"},
            "medicationCodeableConcept": {"text": "warfarin"},
            "modifierExtension": [{"url": "https://ehr.example/not-given", "valueBoolean": True}]}  # fmt: skip
    with (folder / "MedicationRequest.000.ndjson").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(drug) + "\n")
    code, lines, err = run("--fhir-ndjson", str(folder), "--as-of", "2026-01-01")
    assert code == 0, err
    notes = lines[0]["record"]["notes"]  # type: ignore[index]
    assert any("carries a modifier extension (https://ehr.example/not-given)" in n for n in notes), notes


def test_a_medication_s_modifier_is_named_in_the_notes_of_the_patient_whose_drug_it_is(tmp_path: Path) -> None:
    """A Bulk Data export keeps Medications in a file of their own, naming no patient: read where used."""
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    first = json.loads((EXPORT / "Patient.000.ndjson").read_text(encoding="utf-8").splitlines()[0])["id"]
    drug = {"resourceType": "Medication", "id": "odd-drug", "code": {"text": "warfarin"},
            "modifierExtension": [{"url": "https://ehr.example/not-this", "valueBoolean": True}]}  # fmt: skip
    use = {"resourceType": "MedicationRequest", "id": "w", "status": "active", "subject": {"reference": f"Patient/{first}"},
           "medicationReference": {"reference": "Medication/odd-drug"}}  # fmt: skip
    (folder / "Medication.001.ndjson").write_text(json.dumps(drug) + "\n", encoding="utf-8")
    with (folder / "MedicationRequest.000.ndjson").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(use) + "\n")
    code, lines, err = run("--fhir-ndjson", str(folder), "--as-of", "2026-01-01")
    assert code == 0, err
    notes = lines[0]["record"]["notes"]  # type: ignore[index]
    assert any(n.startswith("Medication/odd-drug (") and "https://ehr.example/not-this" in n for n in notes), notes
    assert not any("odd-drug" in n for line in lines[1:] for n in line["record"]["notes"])  # type: ignore[index]


def test_a_folder_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    code, _, err = run("--fhir-ndjson", str(tmp_path))
    assert code == 1 and "no Patient.*.ndjson file" in err
    code, _, err = run("--fhir-ndjson", str(EXPORT / "Patient.000.ndjson"))
    assert code == 2
    code, _, err = run()
    assert code == 2 and "either INPUT" in err
    code, _, err = run("roster.csv", "--fhir-ndjson", str(EXPORT))
    assert code == 2 and "either INPUT" in err


def test_a_flag_that_would_change_nothing_for_an_export_is_refused() -> None:
    for flag, value in (("--jobs", "2"), ("--input-format", "csv")):
        result = CliRunner().invoke(app, ["batch", "--fhir-ndjson", str(EXPORT), flag, value])
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == f"osteocheck: {flag} applies to INPUT (profiles) only, not to --fhir-ndjson\n"
