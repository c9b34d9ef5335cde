"""The wheel holds the package, its data, templates and fonts, and nothing else; dependencies are bounded."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from conftest import ROOT
from processes import run as run_process


def test_wheel_contents(tmp_path: Path) -> None:
    # hatchling builds from the checkout without the network (it is a test dependency).
    run_process([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)], cwd=ROOT, check=True)
    wheels = list(tmp_path.glob("*.whl"))
    assert len(wheels) == 1
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import check_wheel
    finally:
        sys.path.pop(0)
    assert check_wheel.problems(str(wheels[0])) == []


def test_dependencies_are_bounded_and_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        assert ">=" in requirement and "<" in requirement, requirement
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    names = {line.split("==")[0].lower().replace("_", "-") for line in pins if "==" in line}
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        name = requirement.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower().replace("_", "-")
        assert name in names, f"{name} is not pinned in constraints.txt"
