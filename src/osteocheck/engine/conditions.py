"""Rule conditions, compiled once from the knowledge file into plain predicates.

The language is positive only (no negation, nothing about clearance), so a
condition that holds for a profile still holds when a risk factor is added:
the engine's monotonicity rests on that.
"""

from collections.abc import Iterable
from typing import NamedTuple

from osteocheck.engine.model import Condition, Facts
from osteocheck.vocabulary import STAGES


class Always(NamedTuple):
    def holds(self, facts: Facts) -> bool:
        return True

    def triggers(self, facts: Facts) -> tuple[str, ...]:
        return (f"stage: {facts.stage}",)

    def describe(self) -> str:
        return "always"


class Fact(NamedTuple):
    """A risk factor is present: a yes/no fact is set, or a per-site fact names a site."""

    name: str

    def holds(self, facts: Facts) -> bool:
        return facts.profile.has(self.name)

    def triggers(self, facts: Facts) -> tuple[str, ...]:
        if not facts.profile.has(self.name):
            return ()
        sites = facts.profile.sites_of(self.name)
        return (f"{self.name}: {', '.join(sites)}",) if sites else (self.name,)

    def describe(self) -> str:
        return self.name


class SiteIn(NamedTuple):
    """A given site is listed under a site fact."""

    site: str
    fact: str

    def holds(self, facts: Facts) -> bool:
        return self.site in facts.profile.sites_of(self.fact)

    def triggers(self, facts: Facts) -> tuple[str, ...]:
        return (f"{self.fact}: {self.site}",) if self.holds(facts) else ()

    def describe(self) -> str:
        return f"{self.site} in {self.fact}"


class StageAtLeast(NamedTuple):
    stage: str

    def holds(self, facts: Facts) -> bool:
        return STAGES.index(facts.stage) >= STAGES.index(self.stage)

    def triggers(self, facts: Facts) -> tuple[str, ...]:
        return (f"stage: {facts.stage}",) if self.holds(facts) else ()

    def describe(self) -> str:
        return f"stage at least {self.stage}"


class AllOf(NamedTuple):
    parts: tuple[Condition, ...]

    def holds(self, facts: Facts) -> bool:
        return all(p.holds(facts) for p in self.parts)

    def triggers(self, facts: Facts) -> tuple[str, ...]:
        if not self.holds(facts):
            return ()
        return _unique(t for p in self.parts for t in p.triggers(facts))

    def describe(self) -> str:
        return "all of (" + ", ".join(p.describe() for p in self.parts) + ")"


class AnyOf(NamedTuple):
    parts: tuple[Condition, ...]

    def holds(self, facts: Facts) -> bool:
        return any(p.holds(facts) for p in self.parts)

    def triggers(self, facts: Facts) -> tuple[str, ...]:
        return _unique(t for p in self.parts for t in p.triggers(facts))

    def describe(self) -> str:
        return "any of (" + ", ".join(p.describe() for p in self.parts) + ")"


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
