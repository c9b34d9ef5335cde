"""The same forms accepted everywhere, and short names that get a suggestion instead of a shrug."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osteocheck.cli.app import app
from osteocheck.client import intake
from osteocheck.client.profile import build
from osteocheck.engine.model import Knowledge
from osteocheck.errors import ProfileError


def invoke(*argv: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(argv))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("given", [["Wrists", "hips"], ["wrists,hips"], ["WRISTS; Hips"], "wrists, hips"])
def test_sites_in_any_case_and_separated_by_commas_or_semicolons(kb: Knowledge, given: object) -> None:
    assert build({"fresh_fractures": given}, kb, usage=False).sites_of("fresh_fractures") == ("wrists", "hips")


@pytest.mark.parametrize("given", ["Severe", " SEVERE ", "severe"])
def test_a_stage_in_any_case_as_intake_takes_it(kb: Knowledge, given: str) -> None:
    assert build({"stage": given}, kb, usage=True).stage == "severe"
    with pytest.raises(ProfileError, match=r"'Sever' is not a stage \(did you mean 'severe'\?\)"):
        build({"stage": "Sever"}, kb, usage=True)


def test_the_forms_hold_for_flags_files_and_batch(tmp_path: Path) -> None:
    code, out, _ = invoke("plan", "--fresh-fracture", "Wrists,Hips", "-f", "json")
    assert code == 0 and json.loads(out)["profile"]["fresh_fractures"] == ["wrists", "hips"]
    profile = tmp_path / "p.yaml"
    profile.write_text("open_wounds: Legs, FEET\n", encoding="utf-8")
    code, out, _ = invoke("plan", "--profile", str(profile), "-f", "json")
    assert code == 0 and json.loads(out)["profile"]["open_wounds"] == ["legs", "feet"]
    roster = tmp_path / "r.csv"
    roster.write_text("id,open_wounds\na,Legs;Feet\n", encoding="utf-8")
    code, out, _ = invoke("batch", str(roster))
    assert code == 0 and json.loads(out)["sites"] == {"wrists": 1, "spine": 1, "hips": 1, "legs": 0, "feet": 0}


def test_an_empty_or_misspelt_site_is_still_an_error(kb: Knowledge) -> None:
    with pytest.raises(ProfileError, match="unknown site ','"):
        build({"fresh_fractures": [","]}, kb, usage=True)
    with pytest.raises(ProfileError, match=r"unknown site 'wirst' \(did you mean 'wrists'\?\)"):
        build({"fresh_fractures": "wirst,hips"}, kb, usage=True)


@pytest.mark.parametrize(("given", "meant"), [("md", "markdown"), ("txt", "table"), ("JSN", "json")])
def test_short_format_names_are_suggested(given: str, meant: str) -> None:
    code, out, err = invoke("plan", "--format", given)
    assert code == 2 and out == "" and f"(did you mean '{meant}'?)" in err


def test_dash_h_is_help() -> None:
    code, out, _ = invoke("plan", "-h")
    assert code == 0 and "Usage: osteocheck plan" in out and "--fact NAME[=SITE]" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["plan", "--t-score", "abc"],
         "osteocheck: invalid value for '--t-score': 'abc' is not a valid float; see 'osteocheck plan --help'"),
        (["plan", "--frakture-history"],
         "osteocheck: no such option: --frakture-history (did you mean --fracture-history?); "
         "see 'osteocheck plan --help'"),
        (["explain"], "osteocheck: missing argument 'technique'; see 'osteocheck explain --help'"),
    ],
)  # fmt: skip
def test_usage_errors_speak_in_one_line_like_every_other_error(argv: list[str], expected: str) -> None:
    code, out, err = invoke(*argv)
    assert code == 2 and out == "" and err == expected + "\n"


def test_the_shell_completes_technique_ids_and_sites() -> None:
    from osteocheck.cli.options import _complete_sites, complete_techniques

    assert complete_techniques("vib") == ["vibration"]
    assert complete_techniques("deep_") == ["deep_tissue_massage", "deep_kneading"]
    assert _complete_sites("wr") == ["wrists"]


def test_excluded_says_each_reason_once_and_never_cuts_a_rule_id() -> None:
    result = CliRunner().invoke(app, ["excluded"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    flat = " ".join(result.stdout.split())
    assert flat.count("whatever the stage.") == 2  # its own group, and joint mobilization's two reasons
    assert "…" not in result.stdout
    assert "Deep kneading" in flat and "Muscle stripping" in flat and "Forceful stretching" in flat


def test_a_t_score_with_a_decimal_comma_says_how_to_write_it(tmp_path: Path, kb: Knowledge) -> None:
    code, out, err = invoke("plan", "--t-score", "-2,5")
    assert code == 2 and out == "" and "write the decimal with a point: -2.5" in err
    profile = tmp_path / "p.yaml"
    profile.write_text('t_score: "-2,5"\n', encoding="utf-8")
    code, out, err = invoke("plan", "--profile", str(profile))
    assert code == 1 and out == "" and "found '-2,5'; write the decimal with a point: -2.5" in err
    code, _, err = invoke("plan", "--t-score", "2,5,1")  # not a number in any writing: no hint
    assert code == 2 and "decimal" not in err
    t_score = next(q for q in intake.questions(kb) if q.kind == "t_score")
    assert intake.parse_answer(t_score, "-2,5", ()) == (
        None,
        "'-2,5' is not a number; write the decimal with a point: -2.5",
    )
    assert intake.parse_answer(t_score, "low", ()) == (None, "'low' is not a number; e.g. -2.7")
