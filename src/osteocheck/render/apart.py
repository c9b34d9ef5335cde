"""Labels told apart: an EHR lists cards and issues by their label, and two alike read as one shown twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from osteocheck.engine.model import Reason

Fit = Callable[[str, int], str]  # a text cut to at most so many characters


def _whole(text: str, limit: int) -> str:
    return text


def tell_apart(labels: Sequence[str], rules: Sequence[Reason | None], fit: Fit = _whole, limit: int = 0) -> list[str]:
    """The labels, each one that others share with its own rule's words added (two rules that modify one
    technique in different ways, for the same facts); where they are still alike once `fit` cuts them
    to `limit`, with the rule's id. A label without a rule stays as it is."""
    out = list(labels)
    for tell in (_words, _rule_id):
        seen = Counter(out)
        if len(seen) == len(out):
            break
        out = [
            tell(label, rule, fit, limit) if seen[label] > 1 and rule is not None else label
            for label, rule in zip(out, rules, strict=True)
        ]
    return out


def _words(label: str, rule: Reason, fit: Fit, limit: int) -> str:
    return fit(f"{label}: {rule.text}", limit)


def _rule_id(label: str, rule: Reason, fit: Fit, limit: int) -> str:
    tag = f" [{fit(rule.rule, 40)}]"
    return fit(label, limit - len(tag)) + tag
