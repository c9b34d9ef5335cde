"""`osteocheck.api`: the same plan as the command line's JSON, from Python, with the same refusals."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from osteocheck import api
from processes import run

WARFARIN = ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json"
MIGUEL = ROOT / "tests/data/fhir/synthea/Miguel_Angel_Garica_f6d15182-f6ac-46cf-8cbd-afacd43be763.json"


def cli_json(*argv: str) -> dict[str, Any]:
    done = run([sys.executable, "-m", "osteocheck", "plan", *argv, "-f", "json"])
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_a_profile_gives_what_plan_format_json_prints() -> None:
    profile = {"stage": "osteoporosis", "fresh_fractures": ["wrists"], "anticoagulants": True, "cleared": ["wrists"]}
    expected = cli_json(
        "--stage", "osteoporosis", "--fresh-fracture", "wrists", "--anticoagulants", "--cleared", "wrists"
    )
    assert api.plan(profile) == expected


@pytest.mark.parametrize("record", [WARFARIN, MIGUEL], ids=["example", "synthea"])
def test_a_bundle_gives_what_plan_with_fhir_prints_but_the_record_name(record: Path) -> None:
    expected = cli_json("--fhir", str(record), "--as-of", "2026-01-01")
    got = api.plan(bundle=json.loads(record.read_text()), as_of="2026-01-01")
    assert got["record"].pop("file") == "the record"
    expected["record"].pop("file")
    assert got == expected


def test_a_profile_and_a_bundle_combine_and_contradictions_are_errors() -> None:
    record = json.loads(WARFARIN.read_text())
    both = api.plan({"fever": True}, bundle=record)
    assert both["profile"]["fever"] is True and both["profile"]["anticoagulants"] is True
    with pytest.raises(api.ProfileError) as caught:
        api.plan({"stage": "osteopenia"}, bundle=record)
    assert caught.value.messages


@pytest.mark.parametrize(
    ("profile", "says"),
    [
        ({"fresh_fractures": ["wirst"]}, "wirst"),
        ({"no_such_fact": True}, "no_such_fact"),
        ({"t_score": "low"}, "t_score"),
        ({5: True}, "unknown profile key '5'"),  # a key no profile file can hold, but a caller's dict can
    ],
)
def test_an_invalid_profile_raises_and_gives_no_plan(profile: dict[str, object], says: str) -> None:
    with pytest.raises(api.ProfileError) as caught:
        api.plan(profile)
    assert says in " ".join(caught.value.messages)
    assert "--" not in " ".join(caught.value.messages)  # named as profile keys, not as flags


@pytest.mark.parametrize("given", [{"patient": "p1"}, {"as_of": "2026-01-01"}, {"session": "2026-01-01"}])
def test_what_is_said_of_a_record_without_one_is_refused(given: dict[str, str]) -> None:
    """Without a bundle they would change nothing, and the caller would believe they had."""
    name = next(iter(given))
    with pytest.raises(
        api.ProfileError, match=rf"^{name} applies to a bundle only: give bundle=\.\.\., or leave {name} out$"
    ):
        api.plan({"stage": "osteopenia"}, **given)  # type: ignore[arg-type]


def test_not_a_mapping_or_not_a_bundle_is_refused() -> None:
    with pytest.raises(api.ProfileError):
        api.plan(["stage", "severe"])  # type: ignore[arg-type]
    with pytest.raises(api.ProfileError):
        api.plan(bundle={"resourceType": "Patient"})


def test_an_argument_of_the_wrong_type_is_named() -> None:
    """A caller's mistake said in its own words, not as an AttributeError from deep in the reader."""
    record = json.loads((ROOT / "examples" / "fhir" / "osteopenia-after-knee-surgery.json").read_text())
    with pytest.raises(api.ProfileError, match=r"^patient must be a Patient's id \(text\), not int$"):
        api.plan(bundle=record, patient=2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^knowledge must be what load_knowledge returns, or a path, not bytes$"):
        api.plan({}, knowledge=b"data/osteoporosis.yaml")  # type: ignore[arg-type]


def test_knowledge_by_path_is_checked_and_loaded_once(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\n")
    with pytest.raises(api.KnowledgeError):
        api.plan({}, knowledge=broken)
    shipped = api.load_knowledge()
    assert api.load_knowledge() is shipped
    assert api.plan({}, knowledge=shipped) == api.plan({})


def test_the_fhir_form_is_a_bundle() -> None:
    bundle = api.plan({"dvt": ["legs"]}, form="fhir")
    assert bundle["resourceType"] == "Bundle" and bundle["entry"][0]["resource"]["resourceType"] == "CarePlan"


def test_the_api_needs_no_terminal_or_cli_libraries() -> None:
    code = "import sys, osteocheck.api as a; a.plan({'fever': True}); print(sorted(m for m in ('typer','rich','jinja2','starlette') if m in sys.modules))"
    done = run([sys.executable, "-c", code], check=True)
    assert done.stdout.strip() == "[]"
