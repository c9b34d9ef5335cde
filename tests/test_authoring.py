"""Knowledge authoring: validate, the schema, layering, the bad-file corpus, and the guide's example."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from conftest import ROOT, SHIPPED
from osteocheck.cli.app import app
from osteocheck.knowledge import loader as knowledge_module
from osteocheck.knowledge.schema import SCHEMA

CORPUS = sorted((ROOT / "tests" / "bad_knowledge").glob("*.yaml"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def header(path: Path, key: str) -> list[str]:
    return [
        line.split(": ", 1)[1]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"# {key}: ")
    ]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_bad_file_gives_exactly_its_expected_problems(path: Path) -> None:
    knowledge, problems = knowledge_module.check(path)
    assert knowledge is None
    expected = [e.replace("SHIPPED", str(knowledge_module.shipped_path())) for e in header(path, "expect")]
    assert [f"{p.line}:{p.column}: {p.severity}: {p.message}" for p in problems] == expected
    assert all(p.file == str(path) for p in problems)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_schema_and_loader_agree_on_structure(path: Path) -> None:
    verdict = header(path, "schema")[0]
    if verdict.startswith("n/a"):
        return
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert VALIDATOR.is_valid(data) == (verdict == "accept")


def test_shipped_file_validates_against_the_schema() -> None:
    VALIDATOR.validate(yaml.safe_load(SHIPPED.read_text(encoding="utf-8")))


def test_schema_file_matches_the_command(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == SCHEMA
    shipped = ROOT / "data" / "knowledge.schema.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == SCHEMA
    assert SHIPPED.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=knowledge.schema.json\n")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_validate_reports_all_files_sorted_and_exits_1(runner: CliRunner) -> None:
    paths = [str(p) for p in CORPUS[:3]]
    result = runner.invoke(app, ["validate", *paths])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all(re.match(r"^.+:\d+:\d+: error: ", line) for line in lines)
    assert "3 file(s) checked: 3 error(s)" in result.stderr


def test_validate_clean_file_and_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    data = json.loads(runner.invoke(app, ["validate", str(CORPUS[0]), "--format", "json"]).stdout)
    assert data["errors"] == 1
    assert set(data["problems"][0]) == {"file", "line", "column", "severity", "message"}


def guide_example() -> tuple[str, list[list[str]]]:
    guide = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    section = guide[guide.index("### Worked example") :]
    file_text = re.search(r"```yaml file=clinic.yaml\n(.*?)```", section, re.S)
    commands = re.search(r"```sh\n(.*?)```", section, re.S)
    assert file_text and commands
    return file_text.group(1), [shlex.split(c) for c in commands.group(1).splitlines()]


def test_the_guides_worked_example_runs(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text, commands = guide_example()
    (tmp_path / "clinic.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    outputs = []
    for command in commands:
        assert command[0] == "osteocheck"
        result = runner.invoke(app, command[1:])
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == ""
    plan = json.loads(outputs[1])
    cupping = next(t for t in plan["techniques"] if t["id"] == "cupping")
    assert cupping["status"] == "excluded"
    assert cupping["reasons"][0]["rule"] == "no_cupping_on_anticoagulants"
    assert plan["knowledge"]["id"] == "clinic"
    assert "no_cupping_on_anticoagulants" in outputs[2]
    without = json.loads(runner.invoke(app, ["plan", "--rules", "clinic.yaml", "--format", "json"]).stdout)
    assert next(t for t in without["techniques"] if t["id"] == "cupping")["status"] == "modify"


def test_layering_keeps_every_shipped_restriction(tmp_path: Path) -> None:
    text, _ = guide_example()
    path = tmp_path / "clinic.yaml"
    path.write_text(text, encoding="utf-8")
    layered = knowledge_module.load(path)
    shipped = knowledge_module.load(SHIPPED)
    assert layered.rules[: len(shipped.rules)] == shipped.rules
    assert layered.techniques[: len(shipped.techniques)] == shipped.techniques
    assert layered.sha256 != shipped.sha256


def test_env_var_selects_the_knowledge_file(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plan"], env={"OSTEOCHECK_RULES": str(CORPUS[0])})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert str(CORPUS[0]) in result.stderr


def test_validate_prints_a_file_s_own_words_as_one_plain_line(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "clinic.yaml"
    forged = "x\\n{0}:1:1: error: forged\\e[31m"
    bad.write_text(
        f'extends: shipped\nid: clinic\nversion: "1"\ntitle: T\nrules:\n  - id: "{forged.format(bad)}"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout
    assert not any(line.startswith(f"{bad}:1:1") for line in result.stdout.splitlines())
    assert "forged" in result.stdout
