"""The wheel holds the package, its data, templates and fonts, and nothing else; dependencies are bounded."""

from __future__ import annotations

import os
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

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
    extras = [r for listed in project["optional-dependencies"].values() for r in listed]
    required = [r for r in [*project["dependencies"], *extras] if not r.startswith("osteocheck[")]  # its own extras
    for requirement in required:
        assert ">=" in requirement and "<" in requirement, requirement
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    names = {line.split("==")[0].lower().replace("_", "-") for line in pins if "==" in line}
    for requirement in required:
        name = requirement.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower().replace("_", "-")
        assert name in names, f"{name} is not pinned in constraints.txt"


def test_classifiers_are_real_trove_classifiers() -> None:
    from trove_classifiers import classifiers  # hatchling's own dependency

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert set(project["classifiers"]) <= classifiers
    assert "License ::" not in " ".join(project["classifiers"])  # the licence is the SPDX expression
    for name in project["license-files"]:
        assert (ROOT / name).is_file(), name


def test_the_sdist_holds_every_tracked_file_and_passes_its_own_tests(tmp_path: Path) -> None:
    run_process([sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(tmp_path)], cwd=ROOT, check=True)
    (sdist,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(tmp_path / "x", filter="data")
        else:  # before 3.11.4 (Debian 12's python3.11 is 3.11.2): the archive built above, its names checked
            assert all(m.isreg() or m.isdir() for m in archive.getmembers())
            assert not any(m.name.startswith("/") or ".." in Path(m.name).parts for m in archive.getmembers())
            archive.extractall(tmp_path / "x")  # noqa: S202 - checked just above
    (top,) = (tmp_path / "x").iterdir()
    if (ROOT / ".git").exists():
        tracked = run_process(["git", "ls-files"], cwd=ROOT, check=True).stdout.split()
        missing = [name for name in tracked if not (top / name).exists()]
        assert missing == [], "tracked files missing from the sdist"
    else:
        pytest.skip("not a git checkout (an unpacked sdist): the tracked-file list is not available")
    # A slice of the suite, run inside the unpacked sdist against its own sources and data.
    env = {**os.environ, "PYTHONPATH": str(top / "src")}
    tests = ["tests/test_knowledge.py", "tests/test_facts_as_data.py"]
    result = run_process(
        [sys.executable, "-m", "pytest", "-q", "--no-cov", "-p", "no:cacheprovider", "-n", "0", *tests],
        cwd=top,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert (
        str(top / "src")
        in run_process(
            [sys.executable, "-c", "import osteocheck; print(osteocheck.__file__)"], cwd=top, env=env, check=True
        ).stdout
    )
