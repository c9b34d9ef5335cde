"""Summarise a mutmut run: mutants killed, survived and untested, per file, and the score.

Reads mutmut's result files under mutants/. A timeout counts as killed (the mutant
made the tests hang, so they noticed). Survivors listed in tools/equivalent_mutants.txt
(one mutant name per line, with a `#` reason) are judged equivalent: they change no
behaviour, and are left out of the score but reported.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 36, 24, -24, 152, 255, 37}
SURVIVED = {0}


def main() -> int:
    equivalent = {
        line.split("#")[0].strip()
        for line in Path("tools/equivalent_mutants.txt").read_text(encoding="utf-8").splitlines()
        if line.split("#")[0].strip()
    }
    total: Counter[str] = Counter()
    survivors: list[str] = []
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        counts: Counter[str] = Counter()
        for name, code in codes.items():
            if code in KILLED:
                counts["killed"] += 1
            elif code in SURVIVED:
                kind = "equivalent" if name in equivalent else "survived"
                counts[kind] += 1
                if kind == "survived":
                    survivors.append(name)
            elif code is None:
                counts["not checked"] += 1
            else:
                counts["no tests"] += 1
        total.update(counts)
        print(f"{meta.name.removesuffix('.meta'):<18} " + "  ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    judged = total["killed"] + total["survived"] + total["no tests"]
    score = total["killed"] / judged if judged else 0.0
    print(
        f"\nkilled {total['killed']}, survived {total['survived']}, no tests {total['no tests']}, "
        f"equivalent {total['equivalent']}, not checked {total['not checked']}"
    )
    print(f"mutation score: {score:.1%} of {judged} non-equivalent mutants")
    for name in survivors:
        print(f"survived: {name}")
    return 0 if score >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
