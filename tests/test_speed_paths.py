"""The short cuts taken for speed change nothing: fast path, knowledge cache, lazy imports."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import SHIPPED
from osteocheck.cli import fastpath
from osteocheck.cli.app import app
from osteocheck.knowledge import loader as knowledge_module
from osteocheck.parsing import cache
from processes import run, run_python

FLAG_TOKENS = st.lists(
    st.one_of(
        st.sampled_from(
            [["--fracture-history"], ["--anticoagulants"], ["--kyphosis"], ["--balance-issues"], ["--fragile-skin"]]
        ),
        st.tuples(
            st.sampled_from(["--open-wound", "--fresh-fracture", "--cleared", "--post-surgical"]),
            st.sampled_from(["legs", "spine", "wrists", "wirst"]),
        ).map(list),
        st.tuples(st.just("--stage"), st.sampled_from(["osteopenia", "severe", "sever"])).map(list),
        st.tuples(st.just("--t-score"), st.sampled_from(["-2.7", "-1.2", "0.5", "x", "-11"])).map(list),
        st.sampled_from([["--format=json"], ["-f", "markdown"], ["--format", "table"], ["--bogus"], ["--help"]]),
    ),
    max_size=5,
).map(lambda groups: [token for group in groups for token in group])


ROOT = Path(__file__).resolve().parents[1]
COMMANDS = st.sampled_from(
    [
        ["plan"],
        ["plan", "--details"],
        ["plan", "--short"],
        ["excluded"],
        ["explain", "mild_kneading"],
        ["explain", "reflexology"],
        ["explain", "Deep kneading"],
        ["explain", "percussion-(TAPOTEMENT)"],
        ["explain", "no_such_technique"],
        ["explain"],
        ["selfcare"],
        ["selfcare", "--therapist", "Sam"],
        ["plan", "--profile", str(ROOT / "examples" / "profiles" / "client.yaml")],
        ["excluded", "-p", str(ROOT / "examples" / "profiles" / "client.json")],
        ["plan", "--fhir", str(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")],
        ["selfcare", "--fhir", str(ROOT / "examples" / "fhir" / "old-fracture-and-falls.json")],
        ["plan", "--profile", "missing.yaml"],
    ]
)


@settings(max_examples=40, deadline=None)
@given(COMMANDS, FLAG_TOKENS)
def test_fast_path_prints_exactly_what_the_full_command_prints(command: list[str], tokens: list[str]) -> None:
    argv = [*command, *tokens]
    full = CliRunner().invoke(app, argv)
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        took = fastpath.run(argv)
    if took:
        assert full.exit_code == 0
        assert buffer.getvalue() == full.stdout
    else:
        assert buffer.getvalue() == ""


def test_fast_path_declines_what_it_does_not_know() -> None:
    for argv in (
        ["plan", "--help"],
        ["assess"],
        ["plan", "--fhir", "-"],
        ["plan", "--output", "x.json"],
        ["selfcare", "--output", "x.md"],
        ["explain", "a", "b"],
        ["plan", "--kyphosis=yes"],
        ["plan", "--stage"],
    ):
        assert fastpath.parse(argv) is None


def test_version_is_answered_without_typer() -> None:
    code = "import sys; sys.argv=['osteocheck','--version']; from osteocheck.cli.entry import main; main(); print(sorted(m for m in ('typer','rich','yaml') if m in sys.modules))"
    out = run_python(code).stdout.splitlines()
    assert out[0].startswith("osteocheck ") and out[1] == "[]"


@pytest.mark.parametrize(
    ("argv", "starts"),
    [
        (["plan", "--kyphosis", "--format", "json"], "{"),
        (["plan", "--kyphosis"], "osteocheck plan"),
        (["selfcare", "--kyphosis"], "# "),
    ],
    ids=["json plan", "one-screen plan", "everyday sheet"],
)
def test_everyday_calls_load_no_yaml_template_engine_typer_or_rich(argv: list[str], starts: str) -> None:
    knowledge_module.load(SHIPPED)  # fills the cache
    code = (
        f"import sys; sys.argv=['osteocheck', *{argv!r}];"
        "from osteocheck.cli.entry import main; main();"
        "print(sorted(m for m in ('typer','rich','yaml','jinja2') if m in sys.modules), file=sys.stderr)"
    )
    result = run_python(code)
    assert result.stdout.startswith(starts) and result.stderr.strip() == "[]"


def test_the_values_on_the_everyday_path_are_defined_without_string_annotations() -> None:
    """typing.NamedTuple compiles each string annotation (`from __future__ import annotations`) at import:
    about 40 µs a field, 150 fields in the model alone, paid by every plan."""
    code = (
        "import sys, typing; sys.argv=['osteocheck','plan','--profile',"
        f"{str(ROOT / 'examples' / 'profiles' / 'client.yaml')!r},'--format','json'];"
        "from osteocheck.cli.entry import main; main();"
        "mods=[m for n, m in list(sys.modules.items()) if n.startswith('osteocheck')];"
        "bad=sorted(f'{m.__name__}.{c}' for m in mods for c, v in vars(m).items()"
        " if isinstance(v, type) and issubclass(v, tuple) and v.__module__ == m.__name__"
        " and any(isinstance(a, (str, typing.ForwardRef)) for a in getattr(v, '__annotations__', {}).values()));"
        "print(bad, file=sys.stderr)"
    )
    result = run_python(code)
    assert result.stdout.startswith("{") and result.stderr.strip() == "[]"


def test_cache_gives_the_same_knowledge_and_never_a_different_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSTEOCHECK_CACHE_DIR", str(tmp_path))
    fresh = knowledge_module.load(SHIPPED)
    entries = list(tmp_path.glob("knowledge-*.json"))
    assert len(entries) == 1
    assert knowledge_module.load(SHIPPED) == fresh
    # A corrupt entry is ignored.
    entries[0].write_text("{not json", encoding="utf-8")
    assert knowledge_module.load(SHIPPED) == fresh
    # A tampered entry that fails any check is re-parsed from the file itself.
    stored = json.loads(entries[0].read_text(encoding="utf-8"))
    stored["data"]["rules"][0]["effects"]["exclude"] = ["no_such_technique"]
    entries[0].write_text(json.dumps(stored), encoding="utf-8")
    assert knowledge_module.load(SHIPPED) == fresh


def test_cache_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSTEOCHECK_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("OSTEOCHECK_NO_CACHE", "1")
    knowledge_module.load(SHIPPED)
    assert cache.directory() is None
    assert list(tmp_path.iterdir()) == []


def test_unwritable_cache_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("OSTEOCHECK_CACHE_DIR", str(blocker / "sub"))
    assert knowledge_module.load(SHIPPED).id == "osteoporosis"


@pytest.mark.parametrize("columns", ["80", "81", "200"])
def test_top_level_help_without_typer_is_what_typer_prints(columns: str) -> None:
    from osteocheck.cli import help as quick_help

    # Typer's own help, in a process of its own (the width comes from the terminal, as for a user).
    code = "import sys; sys.argv = ['osteocheck', '--help']; from osteocheck.cli.app import main; main()"
    result = run([sys.executable, "-c", code], env={**os.environ, "COLUMNS": columns}, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == quick_help.TEXT, (
        "the commands or their docstrings changed: put this text in src/osteocheck/cli/help.py\n" + result.stdout
    )


def test_top_level_help_goes_to_typer_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from osteocheck.cli import help as quick_help

    monkeypatch.setenv("COLUMNS", "60")
    assert quick_help.top_help() is None
