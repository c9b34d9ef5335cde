"""The command line, as a user runs it: outputs, the JSON contract, and every kind of bad input."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT, SHIPPED
from osteocheck.cli.app import app
from processes import run as run_process
from processes import run_python

GOLDEN = ROOT / "tests" / "golden"
PROFILES = {
    "default": [],
    "fracture_anticoagulants": ["--fracture-history", "--anticoagulants"],
    "wounds_cleared": [
        "--stage",
        "osteopenia",
        "--open-wound",
        "legs",
        "--fresh-fracture",
        "wrists",
        "--cleared",
        "legs",
        "--kyphosis",
    ],
}


def run(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", sorted(PROFILES))
@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_plan_matches_golden_file(runner: CliRunner, name: str, fmt: str) -> None:
    code, out, err = run(runner, "plan", *PROFILES[name], "--format", fmt)
    assert code == 0, err
    golden = GOLDEN / f"plan_{name}.{ {'table': 'txt', 'markdown': 'md', 'json': 'json'}[fmt] }"
    if fmt == "json":
        data = json.loads(out)
        data["tool"]["version"] = "X"
        data["knowledge"]["sha256"] = "X"
        out = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_plan_details_match_golden_file(runner: CliRunner, fmt: str) -> None:
    """The full plan (--details): every reason, rule id and source, as the short view points to."""
    code, out, err = run(runner, "plan", *PROFILES["wounds_cleared"], "--format", fmt, "--details")
    assert code == 0, err
    golden = GOLDEN / f"plan_wounds_cleared_details.{ {'table': 'txt', 'markdown': 'md'}[fmt] }"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


VIEWS = [["assess", "--balance-issues"], ["excluded", "--fresh-fracture", "feet"], ["techniques"],
         ["explain", "friction"], ["plan", "--details", "--fever"], ["plan", "--kyphosis"]]  # fmt: skip


@pytest.mark.parametrize("args", VIEWS)
def test_a_view_written_to_a_pipe_or_file_ends_no_line_in_spaces(runner: CliRunner, args: list[str]) -> None:
    code, out, err = run(runner, *args)
    assert code == 0, err
    assert out.endswith("\n") and not [line for line in out.split("\n") if line.endswith(" ")]


def test_json_has_the_contract_keys(runner: CliRunner) -> None:
    code, out, _ = run(runner, "plan", "--fracture-history", "--open-wound", "hips", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data)[:17] == [
        "schema", "tool", "knowledge", "profile", "stage", "assumptions", "clearance_required",
        "max_pressure", "sites", "proceed", "postpone", "techniques", "positions", "positioning", "assessment",
        "self_care", "self_care_withheld",
    ]  # fmt: skip
    assert data["proceed"] == "after_clearance"
    assert data["schema"] == "osteocheck.plan/1"
    assert set(data["knowledge"]) == {"id", "version", "sha256"}
    assert set(data["profile"]) >= {"stage", "t_score", "fracture_history", "fresh_fractures", "open_wounds", "active_infections",
                                    "post_surgical", "cleared", "anticoagulants", "corticosteroids", "fragile_skin", "kyphosis",
                                    "height_loss", "balance_issues"}  # fmt: skip
    assert set(data["clearance_required"][0]) >= {"rule", "reason", "sites", "source"}
    assert set(data["max_pressure"]) >= {"level", "label"}
    assert set(data["sites"][0]) >= {"site", "max_pressure", "no_treatment", "reasons"}
    tech = data["techniques"][0]
    assert set(tech) >= {"id", "name", "status", "pressure", "avoid_sites", "modifications", "reasons"}
    reason = next(t for t in data["techniques"] if t["reasons"])["reasons"][0]
    assert set(reason) >= {"rule", "text", "source", "severity"}
    assert {p["id"] for p in data["positions"]} >= {"prone", "supine", "side_lying", "seated", "massage_chair"}
    assert {p["status"] for p in data["positions"]} <= {"recommended", "allowed", "avoid"}
    recommended = {p["id"] for p in data["positions"] if p["status"] == "recommended"}
    assert {p["id"] for p in data["positioning"]} == recommended
    assert all(set(a) >= {"id", "text"} for a in data["assessment"] + data["self_care"])


def test_excluded_lists_only_excluded_with_reasons(runner: CliRunner) -> None:
    code, out, _ = run(runner, "excluded", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert {t["status"] for t in data["techniques"]} == {"excluded"}
    assert all(t["reasons"] for t in data["techniques"])
    code, out, _ = run(runner, "excluded")
    assert code == 0 and "Deep kneading" in out and "Light effleurage" not in out


def test_techniques_lists_the_catalogue(runner: CliRunner) -> None:
    code, out, _ = run(runner, "techniques")
    assert code == 0
    assert "craniosacral_therapy" in out and "gentle Swedish" in out
    data = json.loads(run(runner, "techniques", "--format", "json")[1])
    assert len(data["techniques"]) == 19
    assert {"percussion", "rib_springing", "spinal_manipulation", "trigger_point_compression"} <= {
        t["id"] for t in data["techniques"]
    }


def test_explain_shows_rules_facts_and_source(runner: CliRunner) -> None:
    code, out, _ = run(runner, "explain", "mild_kneading", "--anticoagulants")
    assert code == 0
    assert "MODIFY" in out and "anticoagulants_modify" in out
    assert "triggered by: anticoagulants" in out
    assert "Modify techniques if the client is on anticoagulants" in out
    code, out, _ = run(runner, "explain", "light_effleurage", "--format", "markdown")
    assert code == 0 and "No rule restricts" in out
    # the name the plan shows serves as well as the id, in any case and spacing
    for named in ("Mild kneading", "mild-KNEADING", "  mild   kneading "):
        assert (
            run(runner, "explain", named, "--anticoagulants")[:2]
            == run(runner, "explain", "mild_kneading", "--anticoagulants")[:2]
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["plan", "--fresh-fracture", "wirst"],
            "osteocheck: --fresh-fracture: unknown site 'wirst' (did you mean 'wrists'?); allowed: head, neck,",
        ),
        (
            ["plan", "--stage", "sever"],
            "osteocheck: --stage: 'sever' is not a stage (did you mean 'severe'?); allowed: osteopenia, osteoporosis, severe",
        ),
        (
            ["plan", "--t-score", "-11"],
            "osteocheck: --t-score: -11.0 is out of range; a T-score lies between -10 and 10",
        ),
        (["plan", "--t-score", "-3", "--stage", "osteopenia"], "osteocheck: --t-score -3 means osteoporosis"),
        (
            ["plan", "--format", "jsn"],
            "osteocheck: --format: 'jsn' is not a format (did you mean 'json'?); allowed: table, json, markdown",
        ),
        (["explain", "deep_kneeding"], "osteocheck: unknown technique 'deep_kneeding' (did you mean 'deep_kneading'?)"),
    ],
)
def test_bad_values_exit_2_with_a_message_and_nothing_on_stdout(
    runner: CliRunner, args: list[str], message: str
) -> None:
    code, out, err = run(runner, *args)
    assert code == 2
    assert out == ""
    assert err.startswith(message)
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [["plan", "--fracture-histroy"], ["plan", "--t-score", "low"], ["plan", "--stage"]])
def test_bad_flags_exit_2(runner: CliRunner, args: list[str]) -> None:
    code, out, err = run(runner, *args)
    assert code == 2 and out == "" and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["plan", "client.yaml"], "; a profile file is read with --profile client.yaml;"),
        (["explain", "friction", "c.YML"], "; a profile file is read with --profile c.YML;"),
        (["assess", "r.json"], "; a profile file is read with --profile r.json, a FHIR record with --fhir r.json;"),
        (["techniques", "client.yaml"], None),  # reads no profile
        (["plan", "wrists"], None),
    ],
)
def test_a_file_given_without_its_option_names_the_option(runner: CliRunner, args: list[str], hint: str | None) -> None:
    code, out, err = run(runner, *args)
    assert code == 2 and out == ""
    assert err.startswith("osteocheck: got unexpected extra argument")
    assert (hint in err) if hint else "--profile" not in err


def test_unknown_flag_suggests_the_closest(runner: CliRunner) -> None:
    _, _, err = run(runner, "plan", "--fracture-histroy")
    assert "--fracture-history" in err


def test_invalid_knowledge_gives_no_plan(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "k.yaml"
    bad.write_text(
        SHIPPED.read_text(encoding="utf-8").replace("exclude: [deep_kneading,", "exclude: [deep_kneeding,"),
        encoding="utf-8",
    )
    for args in (["plan", "--rules", str(bad)], ["plan"]):
        env = {"OSTEOCHECK_RULES": str(bad)} if args == ["plan"] else None
        code, out, err = run(runner, *args, env=env)
        assert code == 1 and out == ""
        assert "no plan was made" in err
        assert "unknown technique 'deep_kneeding' (did you mean 'deep_kneading'?)" in err
        assert f"{bad}:" in err


def test_missing_knowledge_file(runner: CliRunner, tmp_path: Path) -> None:
    code, out, err = run(runner, "plan", "--rules", str(tmp_path / "none.yaml"))
    assert code == 1 and out == ""
    assert "cannot read knowledge file" in err


def test_profile_file_and_flags_combine(runner: CliRunner, tmp_path: Path) -> None:
    f = tmp_path / "client.yaml"
    f.write_text("stage: osteopenia\nopen_wounds: [arms]\n", encoding="utf-8")
    code, out, err = run(runner, "plan", "--profile", str(f), "--open-wound", "legs", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["profile"]["open_wounds"] == ["arms", "legs"]
    code, _, err = run(runner, "plan", "--profile", str(f), "--stage", "severe")
    assert code == 2 and "contradicts" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fractur_history: true\n", "unknown profile key 'fractur_history' (did you mean 'fracture_history'?)"),
        ("kyphosis: true\nkyphosis: false\n", "duplicate key 'kyphosis'"),
        ("!!python/object/apply:os.system [echo]\n", "is not allowed"),
        ("- a\n", "a profile must be a mapping"),
        ('{"resourceType": "Bundle", "type": "collection", "entry": []}\n', "this is a FHIR Bundle, not a profile"),
    ],
)
def test_bad_profile_files_exit_1(runner: CliRunner, tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "client.yaml"
    f.write_text(text, encoding="utf-8")
    code, out, err = run(runner, "plan", "--profile", str(f))
    assert code == 1 and out == ""
    assert message in err and str(f) in err
    assert len(err.strip().splitlines()) == 1  # one line for one mistake


def test_version_and_help(runner: CliRunner) -> None:
    code, out, _ = run(runner, "--version")
    assert code == 0 and out.startswith("osteocheck ")
    for command in ("plan", "excluded", "techniques", "explain"):
        code, out, _ = run(runner, command, "--help")
        assert code == 0 and "--rules" in out


def test_terminal_text_cannot_inject_markup_or_controls(runner: CliRunner, tmp_path: Path) -> None:
    f = tmp_path / "client.yaml"
    f.write_text('name: "[red]x[/red] \\e[31mevil \\u202e"\n', encoding="utf-8")
    code, out, err = run(runner, "plan", "--profile", str(f))
    assert code == 0, err
    assert "[red]x[/red]" in out
    assert "\x1b" not in out and "\u202e" not in out


def test_python_dash_m_runs_from_another_folder(tmp_path: Path) -> None:
    result = run_process([sys.executable, "-m", "osteocheck", "plan", "--kyphosis", "--format", "json"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["profile"]["kyphosis"] is True
    assert "\x1b[" not in result.stdout


def test_engine_imports_no_yaml_rich_or_typer() -> None:
    code = (
        "import sys, osteocheck.engine.evaluate; print(sorted(m for m in ('yaml','rich','typer') if m in sys.modules))"
    )
    result = run_python(code)
    assert result.stdout.strip() == "[]"
