"""Outside text is data: a name can never print a line of its own, nor control the terminal, in any view."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from osteocheck.cli.app import app
from osteocheck.words import one_line

FORGED = "Physician clearance: not required by any rule."
PRESSURE = "Highest pressure overall: 5 (deepest)"
# Every way to break a line, and the controls and marks that act on a terminal or a reader's display.
BREAKS = ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\t"]
CONTROLS = ["\x1b[2J", "\x1b]52;c;aGk=\x07", "\x9b2J", "\x9d0;x\x9c", "\x00", "\x7f"]
BIDI = ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c"]
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
TEXT_VIEWS = [
    ["plan", "--format", "table"],
    ["plan", "--format", "markdown"],
    ["excluded", "--format", "table"],
    ["assess", "--format", "table"],
    ["selfcare", "--format", "markdown"],
    ["selfcare", "--format", "html"],
    ["letter", "--format", "markdown"],
    ["letter", "--format", "html"],
]


def _profile(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "client.json"
    target.write_text(json.dumps({"name": name, "id": name, "fresh_fractures": ["spine"]}), encoding="utf-8")
    return target


def _forged_lines(text: str, forged: str = FORGED) -> list[str]:
    return [line for line in re.split(r"[\n\r]", text) if line.strip(" #*|>-").startswith(forged)]


@pytest.mark.parametrize("char", BREAKS + CONTROLS + BIDI, ids=repr)
@pytest.mark.parametrize("view", TEXT_VIEWS, ids=" ".join)
def test_a_name_stays_one_line_in_every_text_view(tmp_path: Path, char: str, view: list[str]) -> None:
    result = CliRunner().invoke(app, [*view, "--profile", str(_profile(tmp_path, f"Jean{char}{FORGED}"))])
    assert result.exit_code == 0, result.stderr
    assert _forged_lines(result.stdout) == []
    assert UNSAFE.findall(result.stdout.replace("\n", "")) == []


@pytest.mark.parametrize("char", BREAKS + CONTROLS + BIDI, ids=repr)
def test_json_plans_and_batch_lines_escape_what_a_terminal_would_act_on(tmp_path: Path, char: str) -> None:
    profile = _profile(tmp_path, f"Jean{char}{FORGED}")
    plan = CliRunner().invoke(app, ["plan", "--format", "json", "--profile", str(profile)])
    assert plan.exit_code == 0, plan.stderr
    assert UNSAFE.findall(plan.stdout.replace("\n", "")) == []
    assert "\n" not in json.loads(plan.stdout)["profile"]["name"]
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": f"C1{char}x", "kyphosis": True}) + "\n", encoding="utf-8")
    batch = CliRunner().invoke(app, ["batch", str(rows)])
    assert batch.exit_code == 0, batch.stderr
    assert len(batch.stdout.splitlines()) == 1
    assert UNSAFE.findall(batch.stdout.replace("\n", "")) == []


@pytest.mark.parametrize("char", ["\n", "\u2028", "\x85"], ids=repr)
@pytest.mark.parametrize("command", ["selfcare", "letter"])
def test_a_name_stays_one_line_in_pdfs(tmp_path: Path, char: str, command: str) -> None:
    target = tmp_path / "out.pdf"
    name = f"Jean{char}{FORGED}"
    result = CliRunner().invoke(
        app, [command, "--profile", str(_profile(tmp_path, name)), "--therapist", name, "--output", str(target)]
    )
    assert result.exit_code == 0, result.stderr
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(target.read_bytes())).pages)
    # A long name may wrap like any text; what matters is that the sentence is never apart from the name.
    folded = " ".join(text.split())
    assert folded.count(FORGED) == folded.count(f"Jean {FORGED}") > 0


def test_one_line_keeps_ordinary_text() -> None:
    assert one_line("  Ann  Lee ") == "Ann  Lee"
    assert one_line("O'Brien-Smith, Zoë [VIP]") == "O'Brien-Smith, Zoë [VIP]"
    assert one_line("a\r\nb\u2028c") == "a b c"


@pytest.mark.parametrize("char", ["\n", "\u2028", "\x1b[2J", "\u202e"], ids=repr)
def test_a_layered_knowledge_file_cannot_forge_lines_either(tmp_path: Path, char: str) -> None:
    quote = '"Modify techniques if the client is on anticoagulants, corticosteroids, or has fragile skin."'
    layer = tmp_path / "clinic.yaml"
    layer.write_text(
        'extends: shipped\nid: clinic\nversion: "1"\ntitle: Clinic\nrules:\n'
        "  - id: clinic_rule\n    when: anticoagulants\n    severity: warning\n"
        f"    text: {json.dumps('Keep it light.' + char + PRESSURE)}\n"
        f"    source: {{ref: text, quote: {quote}}}\n"
        f"    effects: {{modify: {{mild_kneading: {json.dumps('Lighter.' + char + PRESSURE)}}}}}\n",
        encoding="utf-8",
    )
    for view in [*TEXT_VIEWS[:2], ["explain", "mild_kneading"]]:
        # Wide, so no line is wrapped: wrapping may start a line with any word; the data's own break must not.
        result = CliRunner().invoke(app, [*view, "--anticoagulants", "--rules", str(layer)], env={"COLUMNS": "400"})
        assert result.exit_code == 0, result.stderr
        assert _forged_lines(result.stdout, PRESSURE) == []
        assert UNSAFE.findall(result.stdout.replace("\n", "")) == []


def test_text_passed_through_as_printable_holds_nothing_plain_would_remove() -> None:
    """`plain` returns printable text untouched: no printable character is one it removes."""
    from osteocheck.render import escape

    removed = re.compile(f"{escape._CONTROL.source}|{escape._BIDI.source}")
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    assert [hex(ord(c)) for c in removed.findall(everything) if c.isprintable()] == []


@pytest.mark.parametrize("char", BREAKS + CONTROLS + BIDI, ids=repr)
def test_an_error_naming_what_a_record_or_a_file_name_holds_stays_one_line(tmp_path: Path, char: str) -> None:
    """A resource type read from a record, or the record's own file name, is named in the error: it could
    otherwise print a line that reads as osteocheck's own."""
    kind = {"resourceType": f"Condition{char}{FORGED}", "meta": {"security": [{"code": "REDACTED"}]}}
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"resourceType": "Bundle", "entry": [{"resource": kind}]}), encoding="utf-8")
    in_name = char.replace("\x00", "")  # a file name holds anything but NUL (and a slash)
    named = tmp_path / f"r{in_name}{FORGED.replace(':', '')}.json"
    named.write_text(json.dumps({"resourceType": "Patient"}), encoding="utf-8")
    for path, says in ((record, "labelled REDACTED"), (named, "not a FHIR Bundle")):
        result = CliRunner().invoke(app, ["plan", "--fhir", str(path)])
        assert result.exit_code == 1 and says in result.stderr
        assert result.stderr.count("\n") == 1 and UNSAFE.findall(result.stderr.replace("\n", "")) == []
