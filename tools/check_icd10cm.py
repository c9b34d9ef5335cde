"""Check the code map's ICD-10-CM hand entries against the CDC's Tabular List, and keep what it says.

    pip install simple-icd-10-cm==1.5.0 && python tools/check_icd10cm.py

simple-icd-10-cm ships the CDC/NCHS ICD-10-CM Tabular List unchanged (its
`icd10c-tabular-April-1-2026.xml`). Each `icd10cm` entry of data/fhir_codes.yaml
must be a code of that list, displayed in its words; what the list says of each
(its description and its 7th characters) is written to
terminology/icd10cm_checked.json, which the test suite reads.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "terminology" / "icd10cm_checked.json"


def _seventh(cm: object, code: str) -> dict[str, str]:
    """The 7th characters the list defines for a code, at its own level or its nearest ancestor's."""
    while code:
        found: dict[str, str] = cm.get_seven_chr_def(code)  # type: ignore[attr-defined]
        if found:
            return found
        code = cm.get_parent(code)  # type: ignore[attr-defined]
    return {}


def main() -> int:
    import simple_icd_10_cm as cm  # noqa: PLC0415

    tabular = sorted(p.name for p in (Path(cm.__file__).parent / "data").glob("*tabular*.xml"))
    hand = yaml.safe_load((ROOT / "data" / "fhir_codes.yaml").read_text(encoding="utf-8"))
    entries = [e for section in hand.values() if isinstance(section, list) for e in section]
    checked, wrong = [], []
    for e in (e for e in entries if e.get("system") == "icd10cm"):
        code = e["code"]
        if not cm.is_valid_item(code):
            wrong.append(f"{code}: not in the Tabular List")
            continue
        description = cm.get_description(code)
        if description != e["display"]:
            wrong.append(f"{code}: the list says {description!r}, the map {e['display']!r}")
        checked.append({"code": code, "description": description, "seventh_characters": _seventh(cm, code)})
    if wrong:
        print("\n".join(wrong), file=sys.stderr)
        return 1
    TARGET.write_text(
        json.dumps(
            {
                "source": "CDC/NCHS ICD-10-CM Tabular List, April 1, 2026 release",
                "file": ", ".join(tabular),
                "as_shipped_in": f"simple-icd-10-cm {metadata.version('simple-icd-10-cm')} (PyPI)",
                "codes": checked,
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"{len(checked)} ICD-10-CM entries checked against {', '.join(tabular)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
