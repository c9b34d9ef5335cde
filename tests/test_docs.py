"""Docs the tests keep honest: every command has help and is in the README; README examples run."""

from __future__ import annotations

import itertools
import shlex

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from conftest import ROOT
from osteocheck.cli.app import app

README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_there_are_commands() -> None:
    assert {
        "plan",
        "excluded",
        "techniques",
        "explain",
        "selfcare",
        "assess",
        "letter",
        "intake",
        "validate",
        "schema",
        "batch",
    } <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(runner: CliRunner, command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert len(get_command(app).commands[command].help or "") > 20  # type: ignore[attr-defined]
    assert f"`osteocheck {command}" in README


def test_readme_opens_with_the_two_commands_ci_runs() -> None:
    blocks = README.split("```sh\n")
    first, second = blocks[1].split("```")[0].strip(), blocks[2].split("```")[0].strip()
    assert first.endswith("osteocheck plan --fracture-history --anticoagulants")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci == second


def test_readme_examples_run(runner: CliRunner, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    lines = [line for block in README.split("```sh\n")[3:] for line in block.split("```")[0].splitlines()]
    assert len(lines) >= 8
    for line in lines:
        if line == "out=$(mktemp -d)":  # the examples write into a temporary folder: here, tmp_path
            continue
        args = shlex.split(line.replace('"$out/', f'"{tmp_path}/'))
        assert args[0] == "osteocheck"
        written = [b for a, b in itertools.pairwise(args) if a in ("--output", "-o")]
        assert all(w.startswith(str(tmp_path)) for w in written), f"writes into the checkout: {line}"
        result = runner.invoke(app, args[1:])
        assert result.exit_code == 0, (line, result.stderr)


def test_readme_python_example_runs_and_gives_what_its_comments_say(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each line of the API example whose comment ends with a value evaluates to that value."""
    import ast

    monkeypatch.chdir(ROOT)
    block = README.split("```python\n")[1].split("```")[0]
    scope: dict[str, object] = {}
    checked = 0
    for line in block.splitlines():
        code, _, comment = line.partition("  # ")
        if not code.strip():
            continue
        try:
            expected = ast.literal_eval(comment.rsplit(": ", 1)[-1].strip()) if comment else None
        except (ValueError, SyntaxError):
            expected = None
        if expected is None:
            exec(code, scope)  # noqa: S102 - the README's own example, run as a reader would
        else:
            assert eval(code, scope) == expected, line  # noqa: S307
            checked += 1
    assert checked >= 5
