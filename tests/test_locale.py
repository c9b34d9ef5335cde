"""Any output encoding and any width: text degrades, nothing fails, and every verdict stays visible."""

from __future__ import annotations

import json
import os
import sys

import pytest

from conftest import ROOT
from processes import run

PROFILE = str(ROOT / "examples" / "profiles" / "client.yaml")


def osteocheck(*argv: str, **env: str) -> tuple[int, str, str]:
    encoding = env.get("PYTHONIOENCODING", "utf-8")
    result = run([sys.executable, "-m", "osteocheck", *argv], env={**os.environ, **env}, encoding=encoding)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252"])
@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--profile", PROFILE],
        ["plan", "--fracture-history", "--anticoagulants"],
        ["excluded", "--kyphosis"],
        ["explain", "reflexology", "--anticoagulants"],
        ["techniques"],
        ["assess", "--kyphosis"],
        ["selfcare", "--profile", PROFILE],
        ["letter", "--profile", PROFILE],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_non_utf8_output_degrades_instead_of_failing(encoding: str, argv: list[str]) -> None:
    code, out, err = osteocheck(*argv, PYTHONIOENCODING=encoding)
    assert code == 0, err
    assert out.strip()
    assert "\\u" not in out or encoding == "ascii"  # latin-1 and cp1252 hold everything that is shown


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_json_on_a_non_utf8_output_reads_back_as_the_same_names(encoding: str, tmp_path: os.PathLike[str]) -> None:
    profile = os.path.join(tmp_path, "p.json")
    with open(profile, "w", encoding="utf-8") as handle:
        json.dump({"name": "Zoë Ōtake 李", "kyphosis": True}, handle)
    code, out, err = osteocheck("plan", "--profile", profile, "--format", "json", PYTHONIOENCODING=encoding)
    assert code == 0, err
    assert json.loads(out)["profile"]["name"] == "Zoë Ōtake 李"
