"""What a record says about the client, gathered resource by resource, and settled at the end."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, NamedTuple

from osteocheck.client.records import names
from osteocheck.client.records.body_words import sites_named
from osteocheck.client.records.codes import CodeMap
from osteocheck.client.records.fields import codings, describe, named, words_of
from osteocheck.engine.model import Knowledge
from osteocheck.engine.stage import classify
from osteocheck.vocabulary import STAGES
from osteocheck.words import one_line


class Imported(NamedTuple):
    """The profile data a record supports, and an account of every resource in it."""

    data: dict[str, object]
    used: tuple[str, ...]
    set_aside: tuple[str, ...]
    unrecognised: tuple[str, ...]
    notes: tuple[str, ...]
    as_of: str = ""
    # fact id -> the resources ("Condition/12") it was read from: a plan's evidence in the record
    evidence: tuple[tuple[str, tuple[str, ...]], ...] = ()
    patient: str | None = None  # "Patient/ID" of the record's patient, when it holds one
    session: str | None = None  # the session's day (ISO), when later than the day the record is judged at


class Findings:
    """The facts found so far, with what was used, set aside or not recognised, and notes for the therapist."""

    def __init__(self, codes: CodeMap, knowledge: Knowledge, today: dt.date) -> None:
        self.codes = codes
        self.knowledge = knowledge
        self.sites = knowledge.site_ids
        self.today = today
        self.current_on = today  # the day a reading must still be current on: the session's, when later
        self.data: dict[str, Any] = {}
        self.used: list[str] = []
        self.set_aside: list[str] = []
        self.unrecognised: list[str] = []
        self.notes: list[str] = []
        self.stages: list[tuple[str, str]] = []
        self.t_scores: list[tuple[float, str]] = []
        self.as_of = ""
        self.evidence: dict[str, list[str]] = {}
        self.patient: str | None = None
        # Facts changed since derive last cleared it, so it can cite the resource that changed them: every
        # change goes through the methods below (tests/test_record_references.py holds the readers to it).
        self.changed: set[str] = set()
        # label as shown -> the note that asks to confirm it, given only if something was counted under it
        self.marked: dict[str, str] = {}

    def set_fact(self, fact: str, value: object = True) -> None:
        """A yes/no fact found (or the patient's name or id)."""
        if self.data.get(fact) != value:
            self.data[fact] = value
            self.changed.add(fact)

    def add_stage(self, stage: str, label: str) -> None:
        self.stages.append((stage, label))
        self.changed.add("stage")

    def add_t_score(self, value: float, label: str) -> None:
        self.t_scores.append((value, label))
        self.changed.add("t_score")

    def cite(self, fact: str, reference: str) -> None:
        listed = self.evidence.setdefault(fact, [])
        if reference not in listed:
            listed.append(reference)

    def recognise(
        self, r: dict[str, Any], section: str, concept: object, parts: tuple[object, ...] = ()
    ) -> tuple[str, dict[str, Any] | None]:
        """The resource's label and its code-map entry; a resource the map does not know is noted as such.
        `parts`: concepts that name what the resource is made of (a Medication's ingredients), read when
        its own concept names nothing the map knows (a compounded drug)."""
        coded = codings(concept)  # once, for the three readers of the concept
        label = describe(r, concept, coded)
        entry, how = self._entry(section, concept, coded)
        if entry is None and parts:
            entry, how = self._ingredients(section, parts)
        if entry is None:
            self.unrecognised.append(label)
        if names.MARK in how:
            self.marked[f"{label} ({how})"] = (
                f"{label}: counted by its words only, with no code osteocheck knows; confirm with the client"
            )
        return (f"{label} ({how})" if how else label), entry

    def _ingredients(self, section: str, parts: tuple[object, ...]) -> tuple[dict[str, Any] | None, str]:
        """What the ingredients the map or their words know mean, all of them (a compounded drug may hold
        a steroid and a blood thinner): the first's entry, with the others' meanings as its `also`."""
        found = [(part, *self._entry(section, part, codings(part))) for part in parts]
        known = [(part, entry, how) for part, entry, how in found if entry is not None]
        if not known:
            return None, ""
        named_as = ", ".join(one_line(named(part))[:80] for part, _, _ in known)
        hows = list(dict.fromkeys(how for _, _, how in known if how))
        how = f"by its ingredient{'s' if len(known) > 1 else ''} {named_as}" + "".join(f"; {h}" for h in hows)
        meanings = [m for _, entry, _ in known for m in (entry, *entry.get("also", ()))]
        first, *also = meanings
        return ({**first, "also": tuple(also)} if also else first), how

    def _entry(self, section: str, concept: object, coded: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
        """The code-map entry of a concept's first known coding, with what its other codings and its own text
        name beyond it (`also`); else the entry its words name, and the mark that says so."""
        entry = self.codes.match(section, concept, coded)
        if section not in ("conditions", "medications"):
            return entry, ""
        if entry is None:
            entry = self._by_name(section, words_of(concept, coded))
            return entry, names.MARK if entry is not None else ""
        known = (entry, *entry.get("also", ()))
        if len(coded) > 1:
            known = self._other_codings(section, coded, known)
        known += self._text_adds(section, concept, coded, known)
        return ({**entry, "also": known[1:]} if len(known) > 1 + len(entry.get("also", ())) else entry), ""

    def _by_name(self, section: str, words: str) -> dict[str, Any] | None:
        return names.condition(words, self.sites) if section == "conditions" else names.medication(words)

    def _other_codings(
        self, section: str, coded: list[dict[str, Any]], known: tuple[dict[str, Any], ...]
    ) -> tuple[dict[str, Any], ...]:
        """`known` with what a concept's other codings mean beyond it: a record may code one condition in
        two systems, one saying more ("Age-related osteoporosis with current pathological fracture, femur"
        in ICD-10-CM beside a SNOMED CT stress fracture, which stages nothing). Only ever more."""
        for coding in coded:
            meaning = self.codes.match(section, None, [coding])
            for m in (meaning, *meaning.get("also", ())) if meaning is not None else ():
                left = _beyond(known, m)
                if left is not None:
                    known = (*known, left)
        return known

    def _text_adds(
        self, section: str, concept: object, coded: list[dict[str, Any]], known: tuple[dict[str, Any], ...]
    ) -> tuple[dict[str, Any], ...]:
        """What a coded concept's own text names that its code does not, each marked `by_text` (`label_for`):
        a clinic may choose a code for "Fracture of femur" and write "Pathological fracture of femur, bone
        metastases". Nothing when the text is one of its codings' displays, as records mostly write it.
        Only ever more: the code's meaning stands whatever the text says."""
        said = concept.get("text") if isinstance(concept, dict) else None
        if not isinstance(said, str) or any(said == c.get("display") for c in coded):
            return ()
        folded = " ".join(said.split()).casefold()
        displays = (c["display"] for c in coded if isinstance(c.get("display"), str))
        if not folded or any(" ".join(d.split()).casefold() == folded for d in displays):
            return ()
        read = self._by_name(section, words_of({"text": said}))  # its text alone, bounded as every label is
        if read is None:
            return ()
        meanings = ({k: v for k, v in read.items() if k != "also"}, *read.get("also", ()))
        return tuple({**m, "by_text": True} for m in map(functools.partial(_beyond, known), meanings) if m is not None)

    def label_for(self, label: str, meaning: dict[str, Any]) -> str:
        """The label a meaning is counted under: marked when only the concept's text names it (`_text_adds`)."""
        if not meaning.get("by_text"):
            return label
        shown = f"{label} ({names.TEXT_MARK})"
        self.marked[shown] = (
            f"{label}: its text names more than its code, and that is counted too; confirm with the client"
        )
        return shown

    def add_site(self, fact: str, site: str) -> None:
        listed = self.data.setdefault(fact, [])
        if site not in listed:
            listed.append(site)
            self.changed.add(fact)

    def site_of(self, resource: dict[str, Any], entry: dict[str, Any]) -> list[str]:
        mapped = places_of(entry)
        found = [s for s in self.sites if s in mapped]
        body = resource.get("bodySite", [])
        for concept in body if isinstance(body, list) else []:
            # every coding's place: codings that disagree leave the plan stricter, not at the first one's word
            hits = [
                m.get("site") for c in codings(concept) if (m := self.codes.match("body_sites", None, [c])) is not None
            ]
            if placed := [site for site in hits if site in self.sites]:
                found.extend(placed)
            elif isinstance(concept, dict) and str(concept.get("text", "")).strip().lower() in self.sites:
                found.append(str(concept["text"]).strip().lower())
            elif said := sites_named(words_of(concept), self.sites):  # "left wrist", "L5 vertebra"
                found.extend(said)
            else:
                self.notes.append(
                    f"{describe(resource)}: body site not recognised: {one_line(named(concept))[:80] or 'no name'}"
                )
        if not found:  # a generic code whose text names the place ("Fracture of bone", text "left wrist")
            found = sites_named(words_of(resource.get("code")), self.sites)
        return list(dict.fromkeys(found))

    def finish(self) -> None:
        stage = max((s for s, _ in self.stages), key=STAGES.index, default=None)
        if self.t_scores:
            value, label = min(self.t_scores)
            self.used.append(
                # the same reading twice (a service's panel search finds it too) is not several
                f"{label}: T-score {value:g}" + (" (the lowest of several)" if len(set(self.t_scores)) > 1 else "")
            )
            category = classify(value, self.knowledge)
            rank = {"normal": -1, "osteopenia": 0, "osteoporosis": 1}[category]
            if stage is not None and STAGES.index(stage) > rank:
                self.notes.append(
                    f"T-score {value:g} ({category} range) left out: the record's diagnosis, {stage}, is more severe"
                )
            else:
                self.data["t_score"] = value
                if stage is not None and STAGES.index(stage) < rank:
                    stage = None  # the T-score is the more severe evidence; the stage follows from it
        if stage is not None:
            self.data["stage"] = stage
        for fact in (f.id for f in self.knowledge.facts if f.per_site):
            listed = self.data.get(fact)
            if isinstance(listed, list):
                self.data[fact] = [s for s in self.sites if s in listed]

    def imported(self) -> Imported:
        self.finish()
        # what was counted on words alone reaches the notes, and so the checklist, the letter and the cards
        confirm = [note for shown, note in self.marked.items() if any(u.startswith(f"{shown}: ") for u in self.used)]
        return Imported(
            self.data,
            tuple(self.used),
            tuple(dict.fromkeys(self.set_aside)),  # a label of several meanings says a thing of each once
            tuple(self.unrecognised),
            tuple(dict.fromkeys([*self.notes, *confirm])),
            self.as_of,
            tuple((fact, tuple(refs)) for fact, refs in self.evidence.items()),
            self.patient,
            self.current_on.isoformat() if self.current_on > self.today else None,
        )


def places_of(entry: dict[str, Any]) -> tuple[str, ...]:
    """The places a code-map entry names: a generated code's `sites`, a hand entry's or a procedure's `site`."""
    return (*entry.get("sites", ()), *((entry["site"],) if entry.get("site") else ()))


def _beyond(known: tuple[dict[str, Any], ...], meaning: dict[str, Any]) -> dict[str, Any] | None:
    """What a meaning (another coding's, or one its text names) says that those `known` do not, else None:
    its stage only when more severe than theirs; the thing it names only when none is the same kind of
    thing in (at least) its places (a code that names no place is placed by its words, `Findings.site_of`)."""
    left = dict(meaning)
    stage = meaning.get("stage")
    if stage is None or any(STAGES.index(k["stage"]) >= STAGES.index(stage) for k in known if "stage" in k):
        left.pop("stage", None)
    thing = (meaning.get("kind"), meaning.get("fact"))
    for k in known:
        places = set(places_of(k))
        if thing == (None, None) or (
            (k.get("kind"), k.get("fact")) == thing and (not places or set(meaning.get("sites", ())) <= places)
        ):
            for key in ("kind", "fact", "sites", "past"):
                left.pop(key, None)
            break
    return left if "stage" in left or "kind" in left or "fact" in left else None
