"""Exports: self-care sheet, assessment checklist, physician letter, in Markdown, HTML and PDF."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from conftest import ROOT, mapped
from osteocheck.cli.app import app
from osteocheck.engine.model import Knowledge

GOLDEN = ROOT / "tests" / "golden"
PEOPLE = ["--client", "Jean Example", "--therapist", "Sam Park", "--date", "2026-11-27"]
PROFILES = {
    "balance_fracture": ["--balance-issues", "--fracture-history", "--open-wound", "legs"],
    "wrist_anticoagulants": ["--fresh-fracture", "wrists", "--anticoagulants", "--kyphosis", "--stage", "osteopenia"],
}
COMMANDS = {"selfcare": [], "assess": [], "letter": ["--physician", "Dr. Rivera"]}


def export(
    runner: CliRunner, command: str, profile: str, fmt: str, target: Path | None = None, *extra: str
) -> str | bytes:
    args = [command, *PROFILES[profile], *PEOPLE, *COMMANDS[command], "--format", fmt, *extra]
    if target is not None:
        args += ["--output", str(target)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return target.read_bytes() if target is not None else result.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_documents_match_golden_files(runner: CliRunner, command: str, profile: str, fmt: str) -> None:
    text = export(runner, command, profile, fmt)
    assert isinstance(text, str)
    golden = GOLDEN / f"{command}_{profile}.{'md' if fmt == 'markdown' else 'html'}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_pdf_is_real_and_holds_the_same_points(runner: CliRunner, tmp_path: Path, command: str, profile: str) -> None:
    data = export(runner, command, profile, "pdf", tmp_path / "doc.pdf")
    assert isinstance(data, bytes) and data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert 1 <= len(reader.pages) <= 2
    text = pdf_text(data)
    markdown = export(runner, command, profile, "markdown")
    assert isinstance(markdown, str)
    for line in markdown.splitlines():
        if line.startswith("- ") and "Source:" not in line:
            point = re.sub(r"\\(.)", r"\1", line[2:].removeprefix("[ ] "))
            assert " ".join(point.split())[:60] in text, point


def test_sheet_holds_every_self_care_point_of_the_source(runner: CliRunner, kb: Knowledge) -> None:
    text = export(runner, "selfcare", "wrist_anticoagulants", "html")
    for point in kb.self_care:
        if point.always:  # given as advice, or listed (by its text) under "Not for you for now"
            given = point.advice.replace("'", "&#39;") in text
            held = point.text in text.split("Not for you for now")[-1]
            assert given or held, point.id


def test_sheet_puts_pressing_points_first_with_why(runner: CliRunner) -> None:
    text = export(runner, "selfcare", "balance_fracture", "markdown")
    assert isinstance(text, str)
    first = text.split("## Most important for you")[1].split("## Every day")[0]
    assert first.lstrip().startswith("- Make your home safe from falls")
    assert "Why: Your balance is less steady" in first
    assert "Source: Giangregorio et al." in first
    assert "Not over your legs until your doctor says it is safe." in text


def test_sheet_never_contradicts_the_plan(runner: CliRunner) -> None:
    plan = json.loads(runner.invoke(app, ["plan", *PROFILES["balance_fracture"], "--format", "json"]).stdout)
    sheet = export(runner, "selfcare", "balance_fracture", "markdown")
    assert isinstance(sheet, str)
    for site in (s["site"] for s in plan["sites"] if s["no_treatment"]):
        assert f"Not over your {site}" in sheet


@pytest.mark.parametrize("fmt", ["markdown", "html", "pdf"])
def test_untrusted_names_are_escaped(runner: CliRunner, tmp_path: Path, fmt: str) -> None:
    name = "<script>alert(1)</script> *bold* [red]x[/red] \x1b[31m"
    args = ["selfcare", "--client", name, "--format", fmt, "-o", str(tmp_path / "out")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    data = (tmp_path / "out").read_bytes()
    if fmt == "html":
        text = data.decode()
        assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    elif fmt == "markdown":
        text = data.decode()
        assert "\\<script\\>" in text and "\\*bold\\*" in text and "\\[red\\]" in text
    else:
        text = pdf_text(data)
        assert "<script>alert(1)</script> *bold* [red]x[/red]" in text
    assert "\x1b" not in text


def test_pdf_refuses_characters_its_font_lacks(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["selfcare", "--client", "王小明", "-o", str(tmp_path / "s.pdf")])
    assert result.exit_code == 1
    assert "the PDF font cannot show some characters" in result.stderr
    assert list(tmp_path.iterdir()) == []
    assert runner.invoke(app, ["selfcare", "--client", "王小明", "-o", str(tmp_path / "s.html")]).exit_code == 0


def test_exports_do_not_clobber_and_format_follows_extension(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "sheet.html"
    assert runner.invoke(app, ["selfcare", "-o", str(target)]).exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    again = runner.invoke(app, ["selfcare", "-o", str(target)])
    assert again.exit_code == 1 and "already exists; use --force to overwrite it" in again.stderr
    markdown = tmp_path / "sheet.md"
    markdown.write_text("old", encoding="utf-8")
    assert runner.invoke(app, ["selfcare", "-o", str(markdown), "--force", "--format", "markdown"]).exit_code == 0
    assert markdown.read_text(encoding="utf-8").startswith("# Your self-care plan")
    target = markdown
    assert oct(target.stat().st_mode & 0o777) != "0o600"


@pytest.mark.parametrize(
    ("target", "message"),
    [("missing/sheet.md", "the folder"), (".", "is a folder")],
)
def test_bad_export_targets(runner: CliRunner, tmp_path: Path, target: str, message: str) -> None:
    result = runner.invoke(app, ["letter", "-o", str(tmp_path / target)])
    assert result.exit_code == 1 and message in result.stderr


def test_usage_errors_in_exports(runner: CliRunner) -> None:
    assert runner.invoke(app, ["selfcare", "--format", "docx"]).exit_code == 2
    result = runner.invoke(app, ["letter", "--date", "27/11/2026"])
    assert result.exit_code == 2 and "use YYYY-MM-DD" in result.stderr


def test_assess_table_and_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["assess", "--kyphosis"])
    assert result.exit_code == 0 and "☐ !" in result.stdout
    data = json.loads(runner.invoke(app, ["assess", "--kyphosis", "--format", "json"]).stdout)
    assert data["schema"] == "osteocheck.assessment/1"
    assert data["assessment"][0]["id"] == "assess_mobility_posture" and data["assessment"][0]["pressing"]


def test_what_the_record_leaves_open_is_on_the_checklist_and_in_the_letter(runner: CliRunner, tmp_path: Path) -> None:
    drug = {"resourceType": "MedicationStatement", "id": "m", "status": "unknown",
            "medicationCodeableConcept": mapped("medications", fact="anticoagulants")}  # fmt: skip
    record = tmp_path / "record.json"
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": drug}]}
    record.write_text(json.dumps(bundle), encoding="utf-8")
    note = "MedicationStatement/m"
    table = runner.invoke(app, ["assess", "--fhir", str(record)]).stdout
    assert "Left open by the record" in table and f"☐ ? {note}" in table
    data = json.loads(runner.invoke(app, ["assess", "--fhir", str(record), "--format", "json"]).stdout)
    assert len(data["record_notes"]) == 1 and data["record_notes"][0].startswith(note)
    checklist = runner.invoke(app, ["assess", "--fhir", str(record), "--format", "markdown"]).stdout
    assert "## Left open by the record" in checklist and f"- [ ] {note}" in checklist
    letter = runner.invoke(app, ["letter", "--fhir", str(record), "--format", "markdown"]).stdout
    # the therapist's to check, said as such to the physician, who is asked what they know of it
    left_open = letter.index("## Left open by the record: I will check these with the client")
    assert letter.index(f"- {note}") > left_open and "Left open" not in letter[:left_open]
    assert "- [ ] Do you know more about any point the record leaves open (above)?" in letter
    # a profile, not a record: nothing is left open, and no empty section says otherwise
    assert "Left open" not in runner.invoke(app, ["assess", "--anticoagulants", "--format", "markdown"]).stdout
    assert "left open" not in runner.invoke(app, ["letter", "--anticoagulants", "--format", "markdown"]).stdout
    assert json.loads(runner.invoke(app, ["assess", "--format", "json"]).stdout)["record_notes"] == []


def test_what_the_record_names_only_in_words_is_to_confirm_on_the_checklist_and_in_the_letter(
    runner: CliRunner, tmp_path: Path
) -> None:
    """ "Recognised by name: confirm with the client" was only in the record's list of what it used: the
    checklist that asks the client, and the letter, showed the clot as if coded."""
    clot = {"resourceType": "Condition", "id": "c", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "https://clinic.example.org/codes", "code": "X1"}],
                     "text": "Deep vein thrombosis of left leg"}}  # fmt: skip
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": clot}]}))
    note = "Condition/c (Deep vein thrombosis of left leg): counted by its words only, with no code osteocheck knows"
    checklist = runner.invoke(app, ["assess", "--fhir", str(record), "--format", "markdown"]).stdout
    assert f"- [ ] {note}; confirm with the client" in checklist
    letter = runner.invoke(app, ["letter", "--fhir", str(record), "--format", "markdown"]).stdout
    assert f"## Left open by the record: I will check these with the client\n\n- {note}" in letter


def test_a_checklist_file_takes_the_format_its_name_says_and_a_contradiction_is_refused(
    runner: CliRunner, tmp_path: Path
) -> None:
    starts = {"c.pdf": b"%PDF-", "c.html": b"<!DOCTYPE html>", "c.md": b"# Assessment checklist",
              "c.json": b"{", "c.txt": b"proceed: "}  # fmt: skip
    for name, start in starts.items():
        result = runner.invoke(app, ["assess", "--kyphosis", "--output", str(tmp_path / name)])
        assert result.exit_code == 0, result.stderr
        assert (tmp_path / name).read_bytes().startswith(start), name
    for command in ("assess", "selfcare", "letter"):
        result = runner.invoke(app, [command, "--kyphosis", "--format", "pdf", "--output", str(tmp_path / "x.md")])
        assert result.exit_code == 2 and "--format pdf contradicts --output" in result.stderr, command
        assert not (tmp_path / "x.md").exists()
    for command, what in (("selfcare", "self-care sheet"), ("letter", "letter"), ("assess", "checklist")):
        for name in ("x.json", "x.docx", "x.odt")[command == "assess" :]:  # a checklist's .json is its view
            result = runner.invoke(app, [command, "--output", str(tmp_path / name)])
            assert result.exit_code == 2 and f"a {what} is written as .md, .html or .pdf" in result.stderr
            assert not (tmp_path / name).exists()
    kept = runner.invoke(app, ["selfcare", "--kyphosis", "--format", "markdown", "--output", str(tmp_path / "s.txt")])
    assert kept.exit_code == 0 and (tmp_path / "s.txt").read_text(encoding="utf-8").startswith("# ")


def test_letter_asks_for_each_blocked_site(runner: CliRunner) -> None:
    text = export(runner, "letter", "wrist_anticoagulants", "markdown")
    assert isinstance(text, str)
    assert "- [ ] May I treat over the wrists?" in text
    assert "Dear Dr. Rivera," in text and "## Your reply" in text


@pytest.mark.parametrize(
    ("name", "fmt", "start"),
    [("plan.json", "json", "{"), ("plan.md", "markdown", "# Massage plan"), ("plan.txt", "table", "osteocheck plan")],
)
def test_plan_output_file(runner: CliRunner, tmp_path: Path, name: str, fmt: str, start: str) -> None:
    target = tmp_path / name
    result = runner.invoke(app, ["plan", "--kyphosis", "--output", str(target)])  # the format follows the name
    assert result.exit_code == 0 and result.stdout == ""
    text = target.read_text(encoding="utf-8")
    assert text.startswith(start) and "\x1b" not in text
    assert runner.invoke(app, ["plan", "--format", fmt, "--output", str(target)]).exit_code == 1  # no clobber


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--output", "plan.pdf"], "a plan is written as .json, .md or .txt"),
        (["--output", "plan.html"], "use 'osteocheck selfcare' or 'osteocheck letter'"),
        (["--format", "json", "--output", "plan.md"], "--format json contradicts --output plan.md (markdown)"),
    ],
)
def test_plan_output_never_writes_text_under_another_format_s_name(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plan", *argv])
    assert result.exit_code == 2 and message in result.stderr and list(tmp_path.iterdir()) == []


def test_assess_table_to_a_file_is_written_not_printed(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "assess.txt"
    result = runner.invoke(app, ["assess", "--kyphosis", "--output", str(target)])
    assert result.exit_code == 0 and result.stdout == ""
    assert "Assessment checklist" in target.read_text(encoding="utf-8")
