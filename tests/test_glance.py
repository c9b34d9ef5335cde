"""The plan in short: one 80×40 screen, go-ahead and clearances first, no rule ids, nothing lost."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from osteocheck.cli.app import app
from osteocheck.knowledge import loader

README = ["--fracture-history", "--anticoagulants"]
EVERYTHING = [
    "--stage",
    "severe",
    "--fresh-fracture",
    "spine",
    "--fresh-fracture",
    "hips",
    "--open-wound",
    "legs",
    "--active-infection",
    "abdomen",
    "--post-surgical",
    "hips",
    "--anticoagulants",
    "--corticosteroids",
    "--fragile-skin",
    "--kyphosis",
    "--height-loss",
    "--balance-issues",
    "--fever",
    "--new-back-pain",
    "--dvt",
    "legs",
    "--cancer-in-bone",
    "ribs",
]
CASES = {
    "readme": README,
    "everything": EVERYTHING,
    "osteopenia kyphosis": ["--t-score", "-1.8", "--kyphosis", "--height-loss"],
    "hip surgery": ["--t-score", "-2.6", "--post-surgical", "hips", "--balance-issues"],
    "infection on warfarin": ["--stage", "osteopenia", "--active-infection", "legs", "--anticoagulants"],
    "foot wound": ["--t-score", "-2.8", "--fresh-fracture", "ribs", "--open-wound", "feet", "--corticosteroids"],
}


def invoke(*argv: str, columns: int = 80) -> str:
    result = CliRunner().invoke(app, list(argv), env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def squashed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("name", CASES)
def test_the_plan_fits_one_80_by_40_screen_with_go_ahead_and_clearances_first(name: str) -> None:
    out = invoke("plan", *CASES[name])
    lines = out.splitlines()
    assert len(lines) <= 39, out  # and the prompt after it
    assert max(len(line.rstrip()) for line in lines) <= 80
    top = squashed("\n".join(lines[:5]))
    plan = json.loads(invoke("plan", *CASES[name], "--format", "json"))
    assert "proceed:" in lines[0]
    for c in plan["clearance_required"]:
        for site in c["sites"]:
            assert site in top, (name, site)
    if plan["clearance_required"]:
        assert "Physicianmustclearfirst" in top


@pytest.mark.parametrize("name", CASES)
def test_no_rule_id_in_the_short_view_and_all_of_them_in_the_details(name: str) -> None:
    rules = {r.id for r in loader.load(loader.resolve_path(None)).rules}
    short = invoke("plan", *CASES[name])
    assert not {r for r in rules if r in short}
    plan = json.loads(invoke("plan", *CASES[name], "--format", "json"))
    fired = {r["rule"] for t in plan["techniques"] for r in t["reasons"]}
    details = invoke("plan", *CASES[name], "--details", columns=200)
    assert fired <= {r for r in rules if r in details}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_every_technique_and_every_restriction_is_in_the_short_view(name: str, fmt: str) -> None:
    out = squashed(invoke("plan", *CASES[name], "--format", fmt, columns=120))
    plan = json.loads(invoke("plan", *CASES[name], "--format", "json"))
    untreated = {s["site"] for s in plan["sites"] if s["no_treatment"]}
    for site in untreated:
        assert squashed(site) in out
    if untreated:
        assert "DONOTTREAT" in out.upper()
    for t in plan["techniques"]:
        assert squashed(t["name"]) in out, t["name"]
        for m in t["modifications"]:
            assert squashed(m).replace("*", "") in out.replace("\\", ""), m
        own = [s for s in t["avoid_sites"] if s not in untreated]
        if t["status"] != "excluded" and own:
            # Named after the technique (its line) or in the pressure lines' "only ..." list of usable ones.
            assert f"{','.join(own)}" in out or all(s in out for s in own), (t["name"], own)


def test_a_site_capped_below_a_technique_names_what_may_still_be_used_there() -> None:
    out = invoke("plan", *README)
    assert "wrists, spine, hips: only Light effleurage, Lymphatic" in out
    assert "Mild kneading: Lighter and briefer; no sustained squeezing or" in out
    assert "Not over wrists, spine, hips." in out


def test_positions_are_grouped_and_only_recommended_ones_are_marked_as_such() -> None:
    out = invoke("plan", *CASES["hip surgery"])
    plan = json.loads(invoke("plan", *CASES["hip surgery"], "--format", "json"))
    avoid_line = next(line for line in out.splitlines() if line.strip().startswith("avoid"))
    for p in plan["positions"]:
        if p["status"] == "avoid":
            assert p["name"].split(", ")[0] in avoid_line
    assert "!" not in out


def test_a_wider_terminal_uses_the_width() -> None:
    assert len(invoke("plan", *EVERYTHING, columns=120).splitlines()) < len(invoke("plan", *EVERYTHING).splitlines())


def test_the_full_plan_is_behind_details_and_the_short_one_says_so() -> None:
    short = invoke("plan", *README)
    assert "add --details" in short and "Sources" not in short
    details = invoke("plan", *README, "--details")
    assert "Sources" in details and "Assessment" in details
    assert "## Sources" in invoke("plan", *README, "-f", "markdown", "--details")
    assert "## Sources" not in invoke("plan", *README, "-f", "markdown")


def test_the_documents_read_as_written_for_their_reader() -> None:
    letter = invoke("letter", "--open-wound", "feet", "--fresh-fracture", "ribs", "--kyphosis")
    assert "(an open wound there)" in letter and "(a fracture that has not healed there)" in letter
    assert "Used unchanged: " in letter and "Techniques used" not in letter
    assert letter.count("…………") >= 6  # three lines for comments, then name, signature, date
    sheet = invoke("selfcare", "--open-wound", "feet", "--fresh-fracture", "ribs")
    assert "Not over your ribs or feet until your doctor says it is safe." in sheet


def test_positions_and_pressure_read_without_nested_brackets() -> None:
    details = invoke("plan", *README, "--details", columns=200)
    assert "! Bolstering" not in details and "Positioning (recommended for this client)" in details
    assert "2, heavy lotioning" in details
    assert "3 (moderate (Swedish))" not in invoke("techniques", columns=200)


@pytest.mark.parametrize("width", [40, 59, 80, 120])
@pytest.mark.parametrize("name", CASES)
def test_the_quick_writer_prints_what_rich_prints(name: str, width: int) -> None:
    """The one-screen plan is written without Rich where ANSI terminals are the norm, and with it on
    Windows: both must say exactly the same, wrapped the same way."""
    import io

    from rich.console import Console

    from osteocheck.client.profile import build
    from osteocheck.engine.evaluate import evaluate
    from osteocheck.render.glance_terminal import glance_view
    from osteocheck.render.glance_text import glance_text

    kb = loader.load(loader.resolve_path(None))
    flags = json.loads(invoke("plan", *CASES[name], "--format", "json"))["profile"]
    plan = evaluate(build({**flags, "name": "Zoë 李小龍 " * 6}, kb, usage=False), kb)
    console = Console(file=io.StringIO(), width=width, color_system=None, soft_wrap=False, highlight=False)
    console.print(glance_view(plan, kb))
    rich_text = "".join(line.rstrip() + "\n" for line in console.file.getvalue().splitlines())  # type: ignore[attr-defined]
    assert glance_text(plan, kb, width=width, color=False) == rich_text


def test_colour_only_adds_styles() -> None:
    plain_out = invoke("plan", *EVERYTHING)
    result = CliRunner().invoke(app, ["plan", *EVERYTHING], env={"COLUMNS": "80", "NO_COLOR": "", "FORCE_COLOR": "1"})
    assert "\x1b[1;31m" in result.stdout
    assert re.sub(r"\x1b\[[0-9;]*m", "", result.stdout) == plain_out
