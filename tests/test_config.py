"""The config file: defaults set once, a flag always wins, nothing wrong in it is ever skipped."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osteocheck import config
from osteocheck.cli.app import app
from processes import run

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "examples" / "clinic" / "aromatase_inhibitors.yaml"


def invoke(cfg: Path, *argv: str, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(argv), env={"OSTEOCHECK_CONFIG": str(cfg), **env})
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def test_no_file_means_the_defaults_and_says_so(tmp_path: Path) -> None:
    code, out, _ = invoke(tmp_path / "none.toml", "config")
    assert code == 0
    assert "none yet: defaults in use" in out
    shown = json.loads(invoke(tmp_path / "none.toml", "config", "-f", "json")[1])
    assert shown["found"] is False
    assert shown["settings"]["format"] == {"value": "table", "from": "default"}
    assert shown["settings"]["rules"]["from"] == "shipped"


def test_init_writes_a_template_that_changes_nothing_and_never_overwrites(tmp_path: Path) -> None:
    cfg = tmp_path / "sub" / "config.toml"
    assert invoke(cfg, "config", "--init")[0] == 0
    assert config.read(cfg)._replace(path=cfg, found=False) == config.Config(cfg)
    cfg.write_text('therapist = "Mine"\n', encoding="utf-8")
    code, _, err = invoke(cfg, "config", "--init")
    assert code == 1 and "--force" in err
    assert cfg.read_text(encoding="utf-8") == 'therapist = "Mine"\n'


def test_format_and_details_are_defaults_a_flag_overrides(tmp_path: Path) -> None:
    cfg = write(tmp_path, 'format = "markdown"\ndetails = true\n')
    out = invoke(cfg, "plan", "--kyphosis")[1]
    assert out.startswith("# Massage plan") and "## Sources" in out
    assert "## Sources" not in invoke(cfg, "plan", "--kyphosis", "--short")[1]
    assert invoke(cfg, "plan", "--kyphosis", "-f", "table")[1].startswith("osteocheck plan")
    assert invoke(cfg, "excluded", "--kyphosis")[1].startswith("# Excluded techniques")
    assert json.loads(invoke(cfg, "plan", "-f", "json")[1])["proceed"] == "yes"
    # A file's format still follows its name.
    assert invoke(cfg, "plan", "--output", str(tmp_path / "p.json"))[0] == 0
    assert json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["stage"] == "osteoporosis"


def test_therapist_and_clinic_go_on_the_documents(tmp_path: Path) -> None:
    cfg = write(tmp_path, 'therapist = "Alex Doe"\nclinic = "Riverside Massage"\n')
    sheet = invoke(cfg, "selfcare", "--kyphosis")[1]
    assert "Alex Doe" in sheet and "Riverside Massage" in sheet
    assert "Sam Roe" in invoke(cfg, "letter", "--therapist", "Sam Roe")[1]


def test_a_relative_output_goes_into_the_output_folder(tmp_path: Path) -> None:
    cfg = write(tmp_path, 'output_folder = "documents"\n')
    code, _, err = invoke(cfg, "selfcare", "--kyphosis", "--output", "sheet.md")
    assert code == 0, err
    assert (tmp_path / "documents" / "sheet.md").is_file()
    assert str(tmp_path / "documents" / "sheet.md") in err
    elsewhere = tmp_path / "elsewhere.md"
    assert invoke(cfg, "letter", "--output", str(elsewhere))[0] == 0 and elsewhere.is_file()


def test_a_knowledge_file_set_there_is_named_in_every_plan(tmp_path: Path) -> None:
    cfg = write(tmp_path, f"rules = {json.dumps(str(LAYER))}\n")
    for argv in (["plan"], ["plan", "--details"], ["plan", "-f", "markdown"], ["plan", "-f", "markdown", "--details"]):
        out = invoke(cfg, *argv, "--fact", "aromatase_inhibitors", COLUMNS="200")[1]
        assert "aromatase_inhibitors.yaml" in out.replace("\\", ""), argv
    shown = json.loads(invoke(cfg, "config", "-f", "json")[1])["settings"]["rules"]
    assert shown == {"value": str(LAYER), "from": f"config {cfg}"}
    # --rules and the environment come first, and the shipped file is not named.
    assert "aromatase" not in invoke(cfg, "plan", "--rules", str(ROOT / "data" / "osteoporosis.yaml"))[1]
    assert "aromatase" not in invoke(cfg, "plan", OSTEOCHECK_RULES=str(ROOT / "data" / "osteoporosis.yaml"))[1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('therapst = "A"\n', "unknown setting 'therapst' (did you mean 'therapist'?)"),
        ("format = 'md'\n", "format 'md' is not one of table, json, markdown"),
        ("details = 'yes'\n", "'details' must be true or false"),
        ('therapist = ""\n', "'therapist' must be a non-empty string"),
        ("clinic = 3\n", "'clinic' must be a non-empty string"),
        ('therapist = "A\n', "not valid TOML"),
        ("x" * (70 * 1024), "larger than 64 KiB"),
    ],
)
def test_anything_wrong_is_an_error_and_no_plan(tmp_path: Path, text: str, message: str) -> None:
    cfg = write(tmp_path, text)
    for argv in (["plan", "--kyphosis"], ["config"], ["selfcare"]):
        code, out, err = invoke(cfg, *argv)
        assert code == 1, argv
        assert out == ""
        assert err.startswith(f"osteocheck: config {cfg}: ") and message in err
        assert "Traceback" not in err


def test_the_quick_plan_path_reads_the_config_too(tmp_path: Path) -> None:
    cfg = write(tmp_path, 'format = "markdown"\n')
    env = {**os.environ, "OSTEOCHECK_CONFIG": str(cfg)}
    result = run([sys.executable, "-m", "osteocheck", "plan", "--kyphosis"], env=env)
    assert result.returncode == 0 and result.stdout.startswith("# Massage plan")
    broken = write(tmp_path, "format = 1\n")
    result = run(
        [sys.executable, "-m", "osteocheck", "plan", "--kyphosis"], env={**env, "OSTEOCHECK_CONFIG": str(broken)}
    )
    assert result.returncode == 1 and result.stdout == ""
    assert "'format' must be a non-empty string" in result.stderr
