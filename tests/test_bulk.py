"""`batch --fhir-ndjson`: a real FHIR Bulk Data export (unchanged), one screening line per Patient."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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
    assert code == 0 and len(lines) == 13
    assert "Condition.000.ndjson:" in err and "not a JSON resource" in err
    assert "1 resource(s) named no Patient of the export" in err


def test_a_folder_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    code, _, err = run("--fhir-ndjson", str(tmp_path))
    assert code == 1 and "no Patient.*.ndjson file" in err
    code, _, err = run("--fhir-ndjson", str(EXPORT / "Patient.000.ndjson"))
    assert code == 2
    code, _, err = run()
    assert code == 2 and "either INPUT" in err
    code, _, err = run("roster.csv", "--fhir-ndjson", str(EXPORT))
    assert code == 2 and "either INPUT" in err
