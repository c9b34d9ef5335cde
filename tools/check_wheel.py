"""Check that a built wheel holds only what it should: the package, its data, templates and fonts."""

from __future__ import annotations

import re
import sys
import zipfile

ALLOWED = [
    r"osteocheck/[\w/]*\.py",
    r"osteocheck/py\.typed",
    r"osteocheck/documents/templates/[\w.]+\.j2",
    r"osteocheck/documents/fonts/(DejaVuSans(-Bold)?\.ttf|LICENSE\.txt)",
    r"osteocheck/data/(osteoporosis\.yaml|knowledge\.schema\.json|fhir_codes\.yaml|fhir_codes\.json|fhir_codes\.index\.json)",
    r"osteocheck/data/sources/(000_360acb9329b9f714\.txt|REFERENCES\.md)",
    r"osteocheck-[\w.]+\.dist-info/(METADATA|WHEEL|RECORD|entry_points\.txt|licenses/.*)",
]
REQUIRED = ["osteocheck/data/osteoporosis.yaml", "osteocheck/data/fhir_codes.yaml", "osteocheck/data/fhir_codes.json", "osteocheck/data/fhir_codes.index.json", "osteocheck/documents/fonts/DejaVuSans.ttf",
            "osteocheck/documents/templates/document.html.j2", "osteocheck/cli/entry.py"]  # fmt: skip


def problems(path: str) -> list[str]:
    names = zipfile.ZipFile(path).namelist()
    found = [f"unexpected file in wheel: {n}" for n in names if not any(re.fullmatch(p, n) for p in ALLOWED)]
    found += [f"missing from wheel: {n}" for n in REQUIRED if n not in names]
    return found


def main() -> int:
    bad = [p for wheel in sys.argv[1:] for p in problems(wheel)]
    for line in bad:
        print(line)
    print(f"{len(sys.argv) - 1} wheel(s) checked: {len(bad)} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
