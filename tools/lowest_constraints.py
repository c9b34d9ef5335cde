"""Print constraints that hold each runtime dependency (the serve extra too) at the lowest version pyproject.toml allows.

Everything else keeps its pin from constraints.txt, so the lowest-versions job differs from the
normal one only in what it is there to test. Used by .ci/lowest.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lowest() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    out = {}
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["serve"]]:
        match = re.match(r"([A-Za-z0-9_.-]+)\s*(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)", requirement)
        if match is None:
            sys.exit(f"no lower bound in {requirement!r}: every runtime dependency needs one")
        out[match.group(1).lower()] = match.group(2)
    return out


def main() -> None:
    floors = lowest()
    lines = [f"{name}=={version}" for name, version in floors.items()]
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name = re.split(r"[=<>!~ ]", line.strip(), maxsplit=1)[0].lower()
        if name and not line.startswith("#") and name not in floors:
            lines.append(line.strip())
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
