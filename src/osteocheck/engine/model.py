"""Typed, frozen values: the knowledge, a client profile and a plan.

Nothing here does I/O or imports a third-party library, so every layer can use it.
Annotations are real types, not strings (no `from __future__ import annotations`):
typing.NamedTuple compiles each string one at import, which every plan paid for.
"""

import enum
from collections.abc import Callable
from typing import NamedTuple, Protocol, TypeVar


class Severity(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Status(enum.Enum):
    """A technique's verdict; `rank` orders them from least to most restrictive."""

    SAFE = "safe"
    MODIFY = "modify"
    EXCLUDED = "excluded"

    @property
    def rank(self) -> int:
        return _STATUS_RANK[self]


_STATUS_RANK = {Status.SAFE: 0, Status.MODIFY: 1, Status.EXCLUDED: 2}


class Source(NamedTuple):
    ref: str
    title: str
    quote: str


class Basis(NamedTuple):
    """Where a statement comes from: quoted from a source, or inferred from it."""

    source: Source
    inference: str | None = None


class Item(NamedTuple):
    """A cited statement: summary, goal, sign, assessment step or self-care point."""

    id: str
    text: str
    basis: Basis
    advice: str = ""
    always: bool = True
    facts: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    on_body: bool = False


class PressureLevel(NamedTuple):
    level: int
    label: str
    feel: str
    basis: Basis


class Site(NamedTuple):
    id: str
    name: str
    at_risk: bool = False


class Technique(NamedTuple):
    id: str
    name: str
    category: str
    description: str
    pressure: int
    basis: Basis


class Positioning(NamedTuple):
    id: str
    name: str
    fits: str
    basis: Basis


class FactCode(NamedTuple):
    """A coded concept in a clinical record that sets a fact (see client.records)."""

    section: str  # conditions | medications
    system: str
    code: str
    display: str
    prefix: bool = False


class FactDecl(NamedTuple):
    """A risk factor the knowledge declares: yes/no or per site, how it is asked and what it means."""

    id: str
    per_site: bool
    flag: str
    meaning: str
    question: str
    help: str = ""
    codes: tuple[FactCode, ...] = ()
    label: str = ""  # a few words for the plan at a glance; the meaning's first clause when not given

    @property
    def short(self) -> str:
        return self.label or self.meaning.split(": ", 1)[0]


class BoneDensity(NamedTuple):
    convention: str
    normal_at_or_above: float
    osteoporosis_at_or_below: float
    basis: Basis


class Profile(NamedTuple):
    """A client as the therapist described them; validated, sites in vocabulary order.

    `facts` holds the risk factors present, sorted by id so equal profiles are equal values:
    a yes/no fact with no sites, a per-site fact with the sites it names (never none).
    """

    stage: str | None = None
    t_score: float | None = None
    facts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    cleared: tuple[str, ...] = ()
    name: str | None = None
    id: str | None = None

    @classmethod
    def make(cls, **given: object) -> "Profile":
        """A profile from keywords: stage, t_score, cleared, name, id, and facts (True, or a tuple of sites).

        Unchecked: for code and tests; client.profile.build validates plain data against the knowledge.
        """
        own = {k: given.pop(k) for k in ("stage", "t_score", "cleared", "name", "id") if k in given}
        facts: list[tuple[str, tuple[str, ...]]] = []
        for key, value in given.items():
            if value is True:
                facts.append((key, ()))
            elif isinstance(value, (tuple, list)) and value:
                facts.append((key, tuple(str(site) for site in value)))
        return cls(**own, facts=tuple(sorted(facts)))  # type: ignore[arg-type]

    def has(self, fact: str) -> bool:
        for f, _ in self.facts:  # noqa: SIM110 - a loop, not any() over a generator: asked ~50 times a plan
            if f == fact:
                return True
        return False

    def sites_of(self, fact: str) -> tuple[str, ...]:
        for f, sites in self.facts:
            if f == fact:
                return sites
        return ()

    def adding(self, fact: str, sites: tuple[str, ...] = ()) -> "Profile":
        """The profile with one more fact (or more sites of it); sites keep the order given."""
        merged = dict(self.facts)
        old = merged.get(fact, ())
        merged[fact] = (*old, *(s for s in sites if s not in old))
        return self._replace(facts=tuple(sorted(merged.items())))


class Facts(NamedTuple):
    """What a condition sees: the profile and the stage the engine settled on."""

    profile: Profile
    stage: str


class Condition(Protocol):
    """A compiled rule condition (see engine.conditions): positive only, so monotone."""

    def holds(self, facts: Facts) -> bool: ...

    def triggers(self, facts: Facts) -> tuple[str, ...]:
        """The profile facts that make the condition hold (empty when it does not)."""
        ...

    def describe(self) -> str: ...


class Effects(NamedTuple):
    exclude: tuple[str, ...] = ()
    modify: tuple[tuple[str, str], ...] = ()
    max_pressure: int | None = None
    site_pressure: int | None = None
    no_treatment: bool = False
    clearance: bool = False
    positioning: tuple[str, ...] = ()
    avoid_positioning: tuple[str, ...] = ()
    exclude_at_sites: tuple[str, ...] = ()
    assessment: tuple[str, ...] = ()
    self_care: tuple[str, ...] = ()
    withhold_self_care: tuple[str, ...] = ()
    postpone: bool = False


class Rule(NamedTuple):
    id: str
    when: Condition
    severity: Severity
    text: str
    basis: Basis
    effects: Effects
    sites: tuple[str, ...] = ()
    for_each: str | None = None
    unless_cleared: bool = False
    client_reason: str = ""
    physician_question: str = ""


class Knowledge(NamedTuple):
    id: str
    version: str
    title: str
    sha256: str
    path: str
    summary: tuple[Item, ...]
    goals: tuple[Item, ...]
    signs: tuple[Item, ...]
    pressure_scale: tuple[PressureLevel, ...]
    bone_density: BoneDensity
    sites: tuple[Site, ...]
    techniques: tuple[Technique, ...]
    positioning: tuple[Positioning, ...]
    assessment: tuple[Item, ...]
    self_care: tuple[Item, ...]
    rules: tuple[Rule, ...]
    facts: tuple[FactDecl, ...] = ()
    warnings: int = 0  # what `osteocheck validate` would warn of: the commands that use the file say so

    @property
    def site_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.sites)

    @property
    def technique_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.techniques)

    def technique(self, technique_id: str) -> Technique:
        for t in self.techniques:
            if t.id == technique_id:
                return t
        raise KeyError(technique_id)

    def technique_named(self, text: str) -> str | None:
        """The id of the one technique `text` names: its id or its name, in any case, with spaces, hyphens
        or underscores alike ("Deep kneading" as the plan shows it); None when none or several match."""
        wanted = _plain(text)
        found = {t.id for t in self.techniques if wanted in (_plain(t.id), _plain(t.name))}
        return found.pop() if len(found) == 1 else None

    def fact(self, fact_id: str) -> FactDecl | None:
        return _facts_by_id(self.facts).get(fact_id)

    def pressure_label(self, level: int) -> str:
        if level == 0:
            return "no treatment"
        for p in self.pressure_scale:
            if p.level == level:
                return p.label
        return str(level)

    @property
    def top_pressure(self) -> int:
        return max(p.level for p in self.pressure_scale)


_Held = TypeVar("_Held")
_Made = TypeVar("_Made")


def kept_for_the_last(make: Callable[[_Held], _Made]) -> Callable[[_Held], _Made]:
    """`make(x)`, worked out once for the last `x` seen: held, and compared by identity, so no other
    object can take its place. For what a process derives from its one knowledge, asked per row or call."""
    last: list[tuple[_Held, _Made]] = []

    def kept(held: _Held) -> _Made:
        if not last or last[0][0] is not held:
            last[:] = [(held, make(held))]
        return last[0][1]

    return kept


def _plain(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()


@kept_for_the_last
def _facts_by_id(facts: tuple[FactDecl, ...]) -> dict[str, FactDecl]:
    """The declared facts by id (the first of an id, as a scan finds it): a plan's renderers and the
    record reader ask a score of times."""
    index: dict[str, FactDecl] = {}
    for f in facts:
        index.setdefault(f.id, f)
    return index


class Reason(NamedTuple):
    rule: str
    text: str
    severity: Severity
    basis: Basis
    facts: tuple[str, ...] = ()


class Clearance(NamedTuple):
    reason: Reason
    sites: tuple[str, ...]


class SitePlan(NamedTuple):
    site: str
    max_pressure: int
    no_treatment: bool
    reasons: tuple[Reason, ...]  # every rule that restricts the site
    # The rules that say what the plan says here: not to treat it, or this cap (the overall cap's rules,
    # when that is the lower). The site's other rules are overridden here by a stricter one.
    governing: tuple[Reason, ...] = ()

    @property
    def overridden(self) -> tuple[Reason, ...]:
        """The site's rules its governing ones override here (a cap where it is not to be treated, a higher
        cap): listed apart, so a reader who checks each rule finds it says what it is cited for."""
        return tuple(r for r in self.reasons if r not in self.governing)


class Verdict(NamedTuple):
    technique: Technique
    status: Status
    reasons: tuple[Reason, ...]
    # Sites where it must not be used even when allowed (not to be treated, capped below its pressure,
    # or excluded there by a rule), in vocabulary order, each with its reasons.
    avoid_reasons: tuple[tuple[str, tuple[Reason, ...]], ...] = ()
    # Each modification with the rule that asks for it (a card or an issue cites one rule: its own how).
    how: tuple[tuple[Reason, str], ...] = ()

    @property
    def modifications(self) -> tuple[str, ...]:
        """What to change, each once, in the order the rules ask it (read from `how`, never kept apart)."""
        return tuple(dict.fromkeys(text for _, text in self.how))

    @property
    def avoid_sites(self) -> tuple[str, ...]:
        return tuple(site for site, _ in self.avoid_reasons)

    def asked_by(self, reason: Reason) -> tuple[str, ...]:
        """The modifications this rule asks for (none when it excludes the technique)."""
        return tuple(text for r, text in self.how if r is reason or r == reason)


class PositionStatus(enum.Enum):
    RECOMMENDED = "recommended"
    ALLOWED = "allowed"
    AVOID = "avoid"

    @property
    def rank(self) -> int:
        """How restrictive: a recommendation only ever gives way to 'avoid' as facts are added."""
        return {"allowed": 0, "recommended": 1, "avoid": 2}[self.value]


class PositionVerdict(NamedTuple):
    position: Positioning
    status: PositionStatus
    reasons: tuple[Reason, ...]


class Proceed(enum.Enum):
    """The session as a whole; ordered from least to most restrictive."""

    YES = "yes"
    AFTER_CLEARANCE = "after_clearance"
    POSTPONE = "postpone"


class Recommended(NamedTuple):
    """A positioning option, assessment step or self-care point in a plan."""

    id: str
    text: str
    basis: Basis
    reasons: tuple[Reason, ...] = ()
    avoid_sites: tuple[str, ...] = ()  # of the sites the step works on, those not to be treated

    @property
    def pressing(self) -> bool:
        return bool(self.reasons)


class Lifted(NamedTuple):
    """A rule that physician clearance lifted for a site."""

    reason: Reason
    site: str


class Record(NamedTuple):
    """Where a profile came from, when it was read from a clinical record (FHIR)."""

    file: str
    used: tuple[str, ...]
    set_aside: tuple[str, ...]
    unrecognised: tuple[str, ...]
    notes: tuple[str, ...]
    as_of: str = ""  # the date the record was judged at, and why that date
    evidence: tuple[tuple[str, tuple[str, ...]], ...] = ()  # fact id -> the resources it was read from
    patient: str | None = None  # "Patient/ID", when the record holds the patient
    session: str | None = None  # the session's day (ISO), when later than `as_of`'s: what is postponed is by today's


class Plan(NamedTuple):
    profile: Profile
    stage: str
    assumptions: tuple[str, ...]
    clearance_required: tuple[Clearance, ...]
    max_pressure: int
    max_pressure_label: str
    max_pressure_reasons: tuple[Reason, ...]
    sites: tuple[SitePlan, ...]
    techniques: tuple[Verdict, ...]
    positioning: tuple[Recommended, ...]
    assessment: tuple[Recommended, ...]
    self_care: tuple[Recommended, ...]
    lifted: tuple[Lifted, ...] = ()
    record: Record | None = None
    proceed: Proceed = Proceed.YES
    positions: tuple[PositionVerdict, ...] = ()
    postponed: tuple[Reason, ...] = ()  # why the session is not for today
    withheld: tuple[Recommended, ...] = ()  # self-care points not for this client, with the rules that withhold them

    def verdict(self, technique_id: str) -> Verdict:
        for v in self.techniques:
            if v.technique.id == technique_id:
                return v
        raise KeyError(technique_id)

    @property
    def record_notes(self) -> tuple[str, ...]:
        """What the clinical record left open (a status counted when in doubt, a site assumed): to ask."""
        return self.record.notes if self.record else ()

    @property
    def session(self) -> str | None:
        """The later session's day the plan was made for (ISO), when a record was judged for one: what puts
        the session off is what the record says today."""
        return self.record.session if self.record else None

    def all_reasons(self) -> tuple[Reason, ...]:
        """Every reason in the plan once, in the order the plan shows them."""
        reasons = [*self.postponed, *(c.reason for c in self.clearance_required)]
        reasons += [*self.max_pressure_reasons, *(r for s in self.sites for r in s.reasons)]
        reasons += [r for v in self.techniques for r in v.reasons]
        reasons += [r for p in self.positions if p.status is PositionStatus.AVOID for r in p.reasons]
        for group in (self.positioning, self.assessment, self.self_care, self.withheld):
            reasons += [r for item in group for r in item.reasons]
        return tuple(dict.fromkeys(reasons))

    def site(self, site_id: str) -> SitePlan | None:
        for s in self.sites:
            if s.site == site_id:
                return s
        return None
