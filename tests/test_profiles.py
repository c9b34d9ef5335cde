"""Profile files, the intake interview (stdin and a real pseudo-terminal), profile-schema, FHIR import."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from conftest import ROOT, mapped
from osteocheck import api
from osteocheck.cli.app import app
from osteocheck.cli.prompt import TerminalReader
from osteocheck.client.intake import questions
from osteocheck.client.records import derive as fhir
from osteocheck.engine.model import Knowledge
from osteocheck.errors import OutputError, ProfileError
from processes import run_in_terminal

EXAMPLES = ROOT / "examples"
# name, stage, T-score, fracture history, fresh fractures (a typo, then right), surgery, wounds, infections,
# fever, new back pain, clot, cancer in bone, anticoagulants, corticosteroids, fragile skin, kyphosis,
# height loss, balance, cleared sites, and the confirmation (the shipped facts' order)
ANSWERS = ["Ann Lee", "osteoporosis", "-2.7", "y", "wirst", "wrists", "", "", "", "", "", "", "",
           "y", "n", "", "y", "", "", "", ""]  # fmt: skip


def test_intake_from_stdin_writes_a_valid_profile(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "ann.yaml"
    result = runner.invoke(app, ["intake", "--output", str(target)], input="\n".join(ANSWERS) + "\n")
    assert result.exit_code == 0, result.stderr
    assert "unknown site 'wirst' (did you mean 'wrists'?)" in result.stderr
    assert f"osteocheck plan --profile {target}" in result.stderr
    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert data == {"name": "Ann Lee", "stage": "osteoporosis", "t_score": -2.7, "fracture_history": True,
                    "fresh_fractures": ["wrists"], "anticoagulants": True, "kyphosis": True}  # fmt: skip
    plan = runner.invoke(app, ["plan", "--profile", str(target), "--format", "json"])
    assert plan.exit_code == 0 and json.loads(plan.stdout)["stage"] == "severe"


def test_intake_updates_from_an_existing_profile(runner: CliRunner, tmp_path: Path, kb: Knowledge) -> None:
    start = tmp_path / "old.yaml"
    start.write_text("name: Bo\nkyphosis: true\nopen_wounds: [legs]\n", encoding="utf-8")
    target = tmp_path / "new.json"
    asked = questions(kb)
    answers = [""] * (len(asked) + 1)
    answers[[q.key for q in asked].index("open_wounds")] = "none"
    result = runner.invoke(app, ["intake", "--from", str(start), "-o", str(target)], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(target.read_text(encoding="utf-8")) == {"name": "Bo", "kyphosis": True}


@pytest.mark.parametrize(
    ("answers", "message"),
    [(ANSWERS[:5], "input ended before the intake was complete"), ([*ANSWERS[:-1], "n"], "not confirmed")],
)
def test_intake_that_does_not_finish_writes_nothing(
    runner: CliRunner, tmp_path: Path, answers: list[str], message: str
) -> None:
    target = tmp_path / "p.yaml"
    result = runner.invoke(app, ["intake", "-o", str(target)], input="\n".join(answers) + "\n")
    assert result.exit_code == 1
    assert message in result.stderr and "nothing was written" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_intake_refuses_to_clobber(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "p.yaml"
    target.write_text("kyphosis: true\n", encoding="utf-8")
    result = runner.invoke(app, ["intake", "-o", str(target)], input="\n".join(ANSWERS) + "\n")
    # Before the first question, so no answer is given and lost.
    assert result.exit_code == 1
    assert result.stderr == f"osteocheck: {target} already exists; use --force to overwrite it\n"
    assert target.read_text(encoding="utf-8") == "kyphosis: true\n"
    missing = runner.invoke(app, ["intake", "-o", str(tmp_path / "no" / "p.yaml")], input="\n".join(ANSWERS) + "\n")
    assert (
        missing.exit_code == 1 and missing.stderr.startswith("osteocheck: cannot write") and "?" not in missing.stderr
    )


def test_intake_that_cannot_write_at_the_end_keeps_the_answers(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target is checked before the first question, but a disk can fill during an interview."""

    def full(*_: object, **__: object) -> None:
        raise OutputError("cannot write p.yaml: No space left on device")

    monkeypatch.setattr("osteocheck.writer.write_text", full)
    result = runner.invoke(app, ["intake", "-o", str(tmp_path / "p.yaml")], input="\n".join(ANSWERS) + "\n")
    assert result.exit_code == 1
    assert yaml.safe_load(result.stdout)["fresh_fractures"] == ["wrists"]
    assert result.stderr.endswith(
        "osteocheck: cannot write p.yaml: No space left on device; the profile is on standard output above, "
        "to save by hand\n"
    )


def test_intake_in_a_real_terminal(tmp_path: Path) -> None:
    target = tmp_path / "tty.yaml"
    code, screen = run_in_terminal(["intake", "-o", str(target)], ANSWERS)
    assert code == 0, screen
    assert "Client's name []:" in screen and "Summary:" in screen
    assert yaml.safe_load(target.read_text(encoding="utf-8"))["fresh_fractures"] == ["wrists"]


def test_ctrl_c_in_a_terminal_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "tty.yaml"
    code, screen = run_in_terminal(["intake", "-o", str(target)], ANSWERS, interrupt_after=3)
    assert code == 130, screen
    assert "nothing was written" in screen
    assert list(tmp_path.iterdir()) == []


def test_profile_schema_accepts_the_examples_and_rejects_typos(runner: CliRunner) -> None:
    result = runner.invoke(app, ["profile-schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(yaml.safe_load((EXAMPLES / "profiles" / "client.yaml").read_text(encoding="utf-8")))
    validator.validate(json.loads((EXAMPLES / "profiles" / "client.json").read_text(encoding="utf-8")))
    assert not validator.is_valid({"fractur_history": True})
    assert not validator.is_valid({"open_wounds": ["wirst"]})


@pytest.mark.parametrize("name", ["client.yaml", "client.json"])
def test_example_profiles_plan(runner: CliRunner, name: str) -> None:
    result = runner.invoke(app, ["plan", "--profile", str(EXAMPLES / "profiles" / name)])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"kyphosis": true, "kyphosis": false}', "duplicate key 'kyphosis'"),
        ('{"t_score": NaN}', "not a number JSON allows"),
        ("[1, 2]", "a profile must be a mapping"),
        ('{"kyphosis": true', "not valid JSON"),
        ('{"stage": "osteopenia", "t_score": -3.0}', "contradicts 'stage' osteopenia"),
    ],
)
def test_bad_json_profiles_exit_1(runner: CliRunner, tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "p.json"
    f.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["plan", "--profile", str(f)])
    assert result.exit_code == 1 and result.stdout == ""
    assert message in result.stderr


def test_fhir_examples(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["plan", "--fhir", str(EXAMPLES / "fhir" / "vertebral-fracture-on-warfarin.json"), "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["stage"] == "severe"
    assert (
        data["profile"]["fresh_fractures"] == ["spine"]
        and data["profile"]["anticoagulants"]
        and data["profile"]["kyphosis"]
    )
    assert data["profile"]["t_score"] == -3.1 and not data["profile"]["corticosteroids"]
    assert data["clearance_required"][0]["sites"] == ["spine"]
    assert data["record"]["not_recognised"] == ["Observation/o2 (Blood pressure panel)"]
    assert data["record"]["set_aside"] == ["MedicationStatement/m2 (prednisone): status completed"]
    table = runner.invoke(app, ["plan", "--fhir", str(EXAMPLES / "fhir" / "osteopenia-after-knee-surgery.json")])
    assert "not recognised: 1 (AllergyIntolerance 1); each is listed in --format json" in table.stdout
    assert "used: MedicationRequest/mr1 (apixaban): anticoagulants" in table.stdout


def test_fhir_old_fracture_and_conflicting_t_score(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["plan", "--fhir", str(EXAMPLES / "fhir" / "old-fracture-and-falls.json"), "--format", "json"]
    )
    data = json.loads(result.stdout)
    assert data["profile"]["fracture_history"] and data["profile"]["fresh_fractures"] == []
    assert data["profile"]["balance_issues"] and data["profile"]["t_score"] is None
    assert any("left out" in n for n in data["record"]["notes"])
    assert data["record"]["set_aside"] == ["Condition/c3 (Infectious disease): verification status refuted"]


def test_fhir_and_flags_combine(runner: CliRunner) -> None:
    bundle = str(EXAMPLES / "fhir" / "osteopenia-after-knee-surgery.json")
    result = runner.invoke(app, ["plan", "--fhir", bundle, "--fragile-skin", "--format", "json"])
    assert json.loads(result.stdout)["profile"]["fragile_skin"]
    result = runner.invoke(app, ["plan", "--fhir", bundle, "--stage", "severe"])
    assert result.exit_code == 2 and "contradicts stage: osteopenia" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"resourceType": "Patient"}', "not a FHIR Bundle (resourceType is 'Patient', expected 'Bundle')"),
        ("[]", "not a FHIR Bundle"),
        ('{"resourceType": "Bundle", "entry": {}}', "Bundle.entry must be a list"),
        ("{", "not valid JSON"),
        (  # a search's first page, saved: the fracture may be on the next
            '{"resourceType": "Bundle", "type": "searchset", "entry": [], "link": [{"relation": "next", "url": "x"}]}',
            "the Bundle is one page of a search, linking to the next, so not the whole record; put every page in one Bundle",
        ),
        (
            '{"resourceType": "Bundle", "type": "searchset", "entry": [{"search": {"mode": "outcome"}, "resource": '
            '{"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "timeout"}]}}]}',
            "the Bundle is a search that reported an error, so not the whole record",
        ),
        (  # a search's last page, saved: the fracture may be on the ones before
            '{"resourceType": "Bundle", "type": "searchset", "entry": [], "link": [{"relation": "previous", "url": "x"}]}',
            "the Bundle is a later page of a search, linking to the one before, so not the whole record",
        ),
        (  # a search cut short without a link to the rest: it counts more matches than it holds
            '{"resourceType": "Bundle", "type": "searchset", "total": 3, "entry": [{"resource": {"resourceType": '
            '"Patient"}}, {"resource": {"resourceType": "Medication"}, "search": {"mode": "include"}}]}',
            "the Bundle is part of a search: it says the search found 3, and holds 1, so not the whole record",
        ),
    ],
)
def test_malformed_bundles_exit_1(runner: CliRunner, tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "b.json"
    f.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["plan", "--fhir", str(f)])
    assert result.exit_code == 1 and result.stdout == ""
    assert message in result.stderr


def test_a_whole_search_with_a_warning_is_a_whole_record(kb: Knowledge) -> None:
    """A search outcome of severity warning leaves the search whole; so does a `total` that counts the
    matches only (R4), not what the search included or its outcome."""
    warned = {"search": {"mode": "outcome"}, "resource": {"resourceType": "OperationOutcome",
              "issue": [{"severity": "warning", "code": "informational"}]}}  # fmt: skip
    found = [{"resource": {"resourceType": "Patient", "id": "p"}, "search": {"mode": "match"}},
             {"resource": {"resourceType": "Medication", "id": "m"}, "search": {"mode": "include"}}]  # fmt: skip
    page = {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [warned, *found],
            "link": [{"relation": "self", "url": "x"}]}  # fmt: skip
    assert api.evaluate(bundle=page, knowledge=kb).record is not None
    with pytest.raises(ProfileError, match="it says the search found 2, and holds 1"):
        api.evaluate(bundle=page | {"total": 2}, knowledge=kb)


def test_fresh_fracture_window_and_missing_site(kb: Knowledge) -> None:
    codes = fhir.load_code_map()
    fracture = {"resourceType": "Condition", "id": "f", "clinicalStatus": {"coding": [{"code": "active"}]},
                "code": mapped("conditions", kind="fracture", sites=None), "onsetDateTime": "2026-01-01"}  # fmt: skip
    bundle = {"resourceType": "Bundle", "entry": [{"resource": fracture}]}
    recent = fhir.derive(bundle, codes, kb, today=dt.date(2026, 2, 1))
    # fail closed: a fresh fracture placed nowhere is counted at every site until the physician says where
    assert recent.data == {"fracture_history": True, "fresh_fractures": list(kb.site_ids)}
    assert any("no body site recorded, so counted at every site" in n for n in recent.notes)
    old = fhir.derive(bundle, codes, kb, today=dt.date(2026, 12, 1))
    assert old.data == {"fracture_history": True} and not old.notes
    # a body site in words the map does not code ("left wrist", "L5 vertebra") places it; none, everywhere
    for words, placed in [("left wrist", ["wrists"]), ("Wrist", ["wrists"]), ("L5 vertebra", ["spine"]),
                          ("somewhere", list(kb.site_ids))]:  # fmt: skip
        said = fhir.derive({**bundle, "entry": [{"resource": fracture | {"bodySite": [{"text": words}]}}]}, codes, kb,
                           today=dt.date(2026, 2, 1))  # fmt: skip
        assert said.data["fresh_fractures"] == placed, words
        assert ("Condition/f: body site not recognised: somewhere" in said.notes) == (words == "somewhere")


def test_code_map_entries_are_complete() -> None:
    codes = fhir.load_code_map()
    for section in codes.sections:
        for entry in codes.entries(section):
            assert entry["display"], (section, entry)
    with pytest.raises(ProfileError):
        fhir.load_code_map(ROOT / "data" / "osteoporosis.yaml")


def test_ctrl_c_works_when_the_suite_ignores_sigint(tmp_path: Path) -> None:
    # nohup and some CI runners start the suite with SIGINT ignored, which a child inherits through exec.
    target = tmp_path / "tty.yaml"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code, screen = run_in_terminal(["intake", "-o", str(target)], ANSWERS, interrupt_after=1)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 130, screen
    assert not target.exists()


def test_terminal_reader_keeps_typed_ahead_lines_and_ends_on_eof() -> None:
    reader = TerminalReader()
    data_r, data_w = os.pipe()
    wake_r, wake_w = os.pipe()
    try:
        os.write(data_w, b"first\r\nsec")
        assert reader._line(data_r, wake_r) == "first"
        os.write(wake_w, b"\x02")  # a signal with no Python-level effect: the read goes on
        os.write(data_w, b"ond\nthird\n")
        assert reader._line(data_r, wake_r) == "second"
        assert reader._line(data_r, wake_r) == "third"
        os.close(data_w)
        with pytest.raises(EOFError):
            reader._line(data_r, wake_r)
    finally:
        for fd in (data_r, wake_r, wake_w):
            os.close(fd)


def test_enter_after_a_mistyped_site_is_not_taken_as_none(kb: Knowledge) -> None:
    from osteocheck.client.intake import interview

    said: list[str] = []
    # name, stage, T-score, fracture history, then a mistyped fresh-fracture site and Enter
    answers = iter(["", "", "", "", "wirst", "", "wrists", *[""] * 40])
    profile = interview(lambda _prompt: next(answers), said.append, kb)
    assert profile["fresh_fractures"] == ["wrists"]
    assert any("Type the sites again, or 'none'" in line for line in said)


def test_a_t_score_that_contradicts_the_stage_is_asked_again_at_once(kb: Knowledge) -> None:
    from osteocheck.client.intake import interview

    said: list[str] = []
    answers = iter(["Ann", "osteopenia", "-3.1", "-1.8", *[""] * 40])
    profile = interview(lambda _prompt: next(answers), said.append, kb)
    assert profile["t_score"] == -1.8 and profile["stage"] == "osteopenia"
    assert any("T-score -3.1 means osteoporosis" in line and "contradicts stage osteopenia" in line for line in said)
