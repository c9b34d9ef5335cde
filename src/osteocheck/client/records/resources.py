"""One reader per FHIR resource type: what it adds to the findings, or why it is set aside. An Observation's
is `observations.observation`; what any resource's modifiers say, `modifiers.modified`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from osteocheck.client.records import modifiers
from osteocheck.client.records.body_words import sites_named
from osteocheck.client.records.fields import codings, dated, describe, ends, latest, status_code, text, words_of
from osteocheck.client.records.findings import Findings, places_of
from osteocheck.client.records.names import NOT_SYSTEMIC, local_route, surgical
from osteocheck.client.records.references import References
from osteocheck.engine.stage import ASSUMED
from osteocheck.vocabulary import STAGES
from osteocheck.words import one_line

_ACTIVE_CONDITION = {"active", "recurrence", "relapse"}
_INACTIVE_CONDITION = {"inactive", "remission", "resolved"}  # with the active ones, R4's condition-clinical
_REFUTED = {"refuted", "entered-in-error"}
_ABATEMENT = ("DateTime", "Age", "Period", "Range", "String", "Boolean")  # R4 Condition.abatement[x]
_UNSURE = {"unconfirmed", "provisional", "differential"}  # R4 condition-ver-status, short of confirmed
# R4's statuses that say a drug is not taken or an operation not done, each kind's own value set. Every
# other status counts; one that leaves it open (R4's "unknown": one of the others applies, the source
# does not know which), none (R4 requires one) or one R4 does not name counts too, and the plan says so.
_NOT_TAKEN = {
    "MedicationStatement": {"completed", "entered-in-error", "stopped", "not-taken"},
    "MedicationRequest": {"cancelled", "completed", "entered-in-error", "stopped", "draft"},
    "MedicationDispense": {"cancelled", "entered-in-error", "stopped", "declined"},
    "MedicationAdministration": {"not-done", "entered-in-error", "stopped"},
    "Procedure": {"preparation", "not-done", "entered-in-error"},
}
# The rest of each kind's R4 value set: the statuses that count, with no note but for "unknown". The
# service's searches ask for these, in this order (service/hooks.py). A dispense or an administration
# shows the drug was taken; recent ones only count (see the map's window). R4 event-status: "stopped"
# ends a procedure "after at least some of the 'main' activity ... has occurred", and "on-hold" has
# "temporarily stopped" one: the site was operated on either way.
COUNTED = {
    "MedicationRequest": ("active", "on-hold", "unknown"),
    "MedicationStatement": ("active", "intended", "on-hold", "unknown"),
    "MedicationDispense": ("completed", "in-progress", "preparation", "on-hold", "unknown"),
    "MedicationAdministration": ("completed", "in-progress", "on-hold", "unknown"),
    "Procedure": ("completed", "in-progress", "stopped", "on-hold", "unknown"),
}
# When a dated kind happened (R4): the search parameter that asks by it (service/hooks.py), its date
# field and its period field. Only recent ones count (the map's windows).
WHEN = {
    "Procedure": ("date", "performedDateTime", "performedPeriod"),
    "MedicationDispense": ("whenhandedover", "whenHandedOver", ""),
    "MedicationAdministration": ("effective-time", "effectiveDateTime", "effectivePeriod"),
}


def condition(f: Findings, r: dict[str, Any]) -> None:
    label, entry = f.recognise(r, "conditions", r.get("code"))
    if entry is None:
        return
    verified = status_code(r.get("verificationStatus"))
    if verified in _REFUTED:
        f.set_aside.append(f"{label}: verification status {verified}")
        return
    if verified in _UNSURE:  # counted all the same: a suspected fracture or clot is treated as one
        f.notes.append(
            f"{label}: verification status {verified}, short of confirmed, so counted as if confirmed; ask the client"
        )
    status = status_code(r.get("clinicalStatus"))
    active = status not in _INACTIVE_CONDITION
    if status is None:
        f.notes.append(f"{label}: no clinical status; counted as active")
    elif status not in _ACTIVE_CONDITION | _INACTIVE_CONDITION:
        f.notes.append(f"{label}: clinical status {one_line(status)[:40]} is not an R4 code; counted as active")
    if active and any(r.get(f"abatement{t}") not in (None, False) for t in _ABATEMENT):  # R4 con-4 says inactive
        f.notes.append(
            f"{label}: the record says it abated, yet not that it is inactive; counted as active; ask the client"
        )
    for meaning in (entry, *entry.get("also", ())):  # a label read by its words may name several
        named_as = f.label_for(label, meaning)
        if "stage" in meaning:
            _stage(f, meaning, named_as, unsure=verified in _UNSURE)
        _condition_means(f, r, meaning, named_as, status, active=active)


# A stage the record names only in words, or does not say is confirmed, counts only where it is no milder
# than the one a plan assumes without any (engine.stage.ASSUMED), as a T-score named only by its words does
# (observations.py).


def _stage(f: Findings, meaning: dict[str, Any], label: str, *, unsure: bool) -> None:
    stage = meaning["stage"]
    words = bool(meaning.get("by_name") or meaning.get("by_text"))
    if (words or unsure) and STAGES.index(stage) < STAGES.index(ASSUMED):
        why = "named by its words only" if words else "not confirmed (its verification status)"
        f.set_aside.append(f"{label}: stage {stage}, {why}")
        f.notes.append(
            f"{label}: {stage} {why}, so not counted: the plan assumes {ASSUMED}, as with no "
            f"stage, until a coded, confirmed diagnosis or a DXA T-score shows {stage}; confirm it and give the stage"
        )
        return
    f.add_stage(stage, label)
    f.used.append(f"{label}: stage {stage}")


def _condition_means(
    f: Findings, r: dict[str, Any], entry: dict[str, Any], label: str, status: str | None, *, active: bool
) -> None:
    kind = entry.get("kind")
    if kind == "fracture":
        fracture(f, r, entry, label, active=active)
    elif kind in ("wound", "infection"):
        if not active:
            f.set_aside.append(f"{label}: {status}")
            return
        fact = "open_wounds" if kind == "wound" else "active_infections"
        sites = f.site_of(r, entry)
        if sites or kind == "wound":
            _at_sites(f, r, label, fact, sites)
        else:  # fail closed: an infection the record places nowhere is taken to affect the whole body
            f.set_fact("fever")
            f.used.append(f"{label}: fever (an infection of the whole body)")
            f.notes.append(
                f"{label}: active with no body site, so counted as an infection of the whole body (fever); "
                "ask the client"
            )
    elif "fact" in entry:
        if not active and entry["fact"] != "fracture_history":  # a fracture once had stays had
            f.set_aside.append(f"{label}: {status}")
            return
        declared = f.knowledge.fact(entry["fact"])
        if declared is None:
            f.notes.append(f"{label}: the code map names '{entry['fact']}', which the knowledge does not declare")
        elif declared.per_site:
            sites = f.site_of(r, entry)
            if not sites and declared.id in _NOWHERE_MEANS:
                sites = _nowhere(f, label, declared.id)
            _at_sites(f, r, label, declared.id, sites)
        else:
            f.set_fact(entry["fact"])
            f.used.append(f"{label}: {entry['fact']}")


# Fail closed: a dangerous per-site fact the record places nowhere is taken to be at every site it could be.
_NOWHERE_MEANS = {"dvt": ("arms", "legs"), "cancer_in_bone": (), "fresh_fractures": ()}


def _nowhere(f: Findings, label: str, fact: str) -> list[str]:
    sites = [s for s in f.sites if s in _NOWHERE_MEANS[fact]] or list(f.sites)
    f.notes.append(
        f"{label}: no body site recorded, so counted at {', '.join(sites) if len(sites) < len(f.sites) else 'every site'}"
        " until the physician says where; ask the client"
    )
    return sites


def _at_sites(f: Findings, r: dict[str, Any], label: str, fact: str, sites: list[str]) -> None:
    for site in sites:
        f.add_site(fact, site)
    f.used.append(f"{label}: {fact} {', '.join(sites)}" if sites else f"{label}: no body site")
    if not sites:
        f.notes.append(f"{label}: active but without a recognised body site; ask the client where")


def fracture(f: Findings, r: dict[str, Any], entry: dict[str, Any], label: str, *, active: bool) -> None:
    f.set_fact("fracture_history")
    onset = r.get("onsetPeriod")  # its end, else its start: the later, the more likely still healing
    when, partly = dated(r.get("onsetDateTime"), *ends(onset), r.get("recordedDate"))
    recent = when is not None and (f.today - when).days <= f.codes.fresh_fracture_days
    if recent:
        _partly_dated(f, label, partly)
        _later(f, label, when)
    # A fracture recorded as resolved within the window still counts as unhealed: some records
    # resolve a fracture when it is fixed, weeks before the bone has healed.
    if recent or (active and when is None and not entry.get("past")):
        sites = f.site_of(r, entry) or _nowhere(f, label, "fresh_fractures")
        for site in sites:
            f.add_site("fresh_fractures", site)
        if when is None:
            f.notes.append(f"{label}: active fracture with no date; counted as not healed")
        f.used.append(f"{label}: fresh fracture at {', '.join(sites)}; fracture history")
    else:
        f.used.append(f"{label}: fracture history")


def medication(f: Findings, r: dict[str, Any], references: References) -> None:
    concept = r.get("medicationCodeableConcept")
    reference = r.get("medicationReference")
    parts: tuple[object, ...] = ()
    if concept is None and reference is not None:
        target = references.resolve(r, reference)
        concept = target.get("code") if target else None
        display = reference.get("display") if isinstance(reference, dict) else None
        if target is None:
            shown = (reference.get("reference") if isinstance(reference, dict) else reference) or display
            f.notes.append(
                f"{describe(r)}: its medication ({one_line(str(shown or 'no reference'))[:80]}) is not in the "
                "record; ask the client"
            )
        else:
            parts = _ingredients(target)
            if "modifierExtension" in target or "implicitRules" in target:
                modifiers.modified(f, target)  # contained, in the Bundle or in a Bulk Data export alike
        if concept is None and isinstance(display, str) and display.strip():
            concept = {"text": display}  # all the record says of the drug: read by its name
    label, entry = f.recognise(r, "medications", concept, parts)
    if entry is None:
        return
    status = text(r.get("status"))
    kind = r.get("resourceType")
    counted = COUNTED.get(str(kind), ())
    if status in _NOT_TAKEN.get(str(kind), set()):
        f.set_aside.append(f"{label}: status {status}")
        return
    partly = ""
    if kind in WHEN:
        when, partly = _happened(f, r, label, "MedicationDispense", "MedicationAdministration")
        if when is None or (f.today - when).days > f.codes.recent_medication_days:
            f.set_aside.append(f"{label}: not recent" if when else f"{label}: no date")
            if when is None:
                f.notes.append(
                    f"{label}: {_GIVEN[str(kind)]} with no date, so not counted as taken now; ask the client"
                )
            return
    # a label read by its words, or a compounded drug's ingredients, may name several
    taken = [
        _medication_means(f, r, m, f.label_for(label, m), concept, references) for m in (entry, *entry.get("also", ()))
    ]
    if not any(taken):
        return
    _doubted(f, label, status, tuple(s for s in counted if s not in _PAUSED), "taken")
    _partly_dated(f, label, partly)
    if kind in WHEN:
        _later(f, label, when)
    else:
        _not_now(f, r, label)
    if r.get("doNotPerform") is True:  # an R4 modifier element; not set aside, as a flag set by mistake is milder
        f.notes.append(
            f"{label}: a request that it not be given (doNotPerform), counted all the same; check the record"
        )


def _medication_means(
    f: Findings, r: dict[str, Any], entry: dict[str, Any], label: str, concept: object, references: References
) -> bool:
    if entry.get("fact") == "corticosteroids":
        route = _route_words(r, concept, references)
        if route:
            f.set_aside.append(f"{label}: {route}, not a systemic corticosteroid")
            return False
    declared = f.knowledge.fact(entry["fact"])
    if declared is None or declared.per_site:
        f.notes.append(f"{label}: the code map names '{entry['fact']}', which is not a yes/no fact here")
        return False
    f.set_fact(entry["fact"])
    f.used.append(f"{label}: {entry['fact']}")
    return True


def _ingredients(medication: dict[str, Any]) -> tuple[object, ...]:
    """What a Medication is made of, as concepts (R4 `ingredient.itemCodeableConcept`): a compounded
    drug may name its anticoagulant only there."""
    listed = medication.get("ingredient")
    items = [i.get("itemCodeableConcept") for i in listed if isinstance(i, dict)] if isinstance(listed, list) else []
    return tuple(item for item in items if isinstance(item, dict))


def _doubted(f: Findings, label: str, status: str | None, sure: tuple[str, ...], counted_as: str) -> None:
    if status is None or status == "unknown" or status not in sure:
        said = "not recorded" if status is None else one_line(status)[:40]
        f.notes.append(f"{label}: status {said}, so counted as {counted_as}; ask the client")


# A statement or request in one of these counts (it may be taken by the session), but is not known to be
# taken now: the note asks.
_PAUSED = {"intended", "on-hold"}
# R4 request-intent: the codes short of an order (a suggestion, a plan, one option among several).
_NOT_ORDERED = {"proposal", "plan", "option"}


def _not_now(f: Findings, r: dict[str, Any], label: str) -> None:
    """The notes on a drug the record counts as taken that it does not say is taken now: a request not yet
    ordered, a statement whose period ended before the record's day. Counted all the same, the stricter
    reading: R4 says a statement's status, not its period, tells whether it is taken."""
    intent = text(r.get("intent"))
    if r.get("resourceType") == "MedicationRequest" and intent in _NOT_ORDERED:
        f.notes.append(f"{label}: intent {intent}, not an order, so counted as taken; ask the client")
    end = latest(r["effectivePeriod"].get("end")) if isinstance(r.get("effectivePeriod"), dict) else None
    if r.get("resourceType") == "MedicationStatement" and end is not None and end < f.today:
        f.notes.append(
            f"{label}: its period ended {end.isoformat()}, yet its status is {text(r.get('status')) or 'not recorded'},"
            " so counted as taken; ask the client"
        )


def _partly_dated(f: Findings, label: str, partly: str) -> None:
    """The note on an event counted by the last day its month or year can mean (`fields.dated`)."""
    if partly:
        f.notes.append(f"{label}: dated {partly} only, so judged by its last day; ask the client")


def _later(f: Findings, label: str, when: dt.date | None) -> None:
    """The note on an event dated after the record's day (a mistyped year?): counted as recent, the stricter
    reading, and said, since the therapist may know the date."""
    if when is not None and when > f.today:
        f.notes.append(
            f"{label}: dated {when.isoformat()}, after the day the record is judged at, so counted as recent; "
            "check the date"
        )


# R4 "in-progress": "the event is currently occurring", so recent whatever dates it lacks.
_ONGOING = "{label}: in progress with no date, so counted as recent; ask the client when it began"
_GIVEN = {"MedicationDispense": "dispensed", "MedicationAdministration": "given"}


def _happened(f: Findings, r: dict[str, Any], label: str, *kinds: str) -> tuple[dt.date | None, str]:
    """When `r` happened, by the date fields of `kinds` (`WHEN`), as `fields.dated` reads them; undated and in
    progress, on the record's day, with a note (`_ONGOING`). A drug is read by both of its dated kinds'
    fields: a dispense written with an administration's time was taken all the same."""
    values: list[object] = []
    for kind in kinds:
        _, on, during = WHEN[kind]
        values += [r.get(on), *ends(r.get(during))]
    when, partly = dated(*values)
    if when is None and text(r.get("status")) == "in-progress":
        f.notes.append(_ONGOING.format(label=label))
        return f.today, partly
    return when, partly


def _route_words(r: dict[str, Any], concept: object, references: References) -> str:
    """The words of a route that does not reach the whole body, from the drug's name, form or dosage route."""
    said = local_route(words_of(concept))
    if said:
        return f"route {said}"
    places: list[object] = []
    for key in ("dosageInstruction", "dosage"):
        dosage = r.get(key)
        for d in dosage if isinstance(dosage, list) else [dosage]:
            if isinstance(d, dict):
                places += [d.get("route"), d.get("site")]
    target = references.resolve(r, r.get("medicationReference")) if r.get("medicationReference") else None
    if target:
        places.append(target.get("form"))
    for place in places:
        found = NOT_SYSTEMIC.search(words_of(place))
        if found:
            return f"route {found.group(0).lower()}"
    return ""


def procedure(f: Findings, r: dict[str, Any]) -> None:
    label = describe(r, r.get("code"))
    status = text(r.get("status"))
    if status in _NOT_TAKEN["Procedure"]:
        f.set_aside.append(f"{label}: status {status}")
        return
    when, partly = _happened(f, r, label, "Procedure")
    if when is None or (f.today - when).days > f.codes.recent_surgery_days:
        f.set_aside.append(f"{label}: not recent" if when else f"{label}: no date")
        if when is None and _surgery(f, r) is not None:
            f.notes.append(f"{label}: surgery with no date, so not counted as recent; ask the client when it was")
        return
    found = _surgery(f, r)
    if found is None:
        f.set_aside.append(f"{label}: recent, but not surgery")
        return
    entry, words = found
    sites = f.site_of(r, entry or {})
    if not sites:
        sites = sites_named(words, f.sites)
    for site in sites:
        f.add_site("post_surgical", site)
    _doubted(f, label, status, COUNTED["Procedure"], "done")
    _partly_dated(f, label, partly)
    _later(f, label, when)
    if sites:
        f.used.append(f"{label}: post-surgical site {', '.join(sites)}")
    else:
        f.unrecognised.append(f"{label}: recent, but without a recognised body site")
        f.notes.append(f"{label}: recent procedure without a recognised body site; ask the client where")


def _surgery(f: Findings, r: dict[str, Any]) -> tuple[dict[str, Any] | None, str] | None:
    """A procedure's code-map entry and words when it is surgery (by the map, else by its words), else None.
    A procedure coded in several systems is placed wherever any of its known codes says, as a condition is
    (`Findings._other_codings`): codes that disagree leave the plan stricter, not at the first one's word."""
    coded = codings(r.get("code"))
    entry = f.codes.match("procedures", None, coded)
    if entry is not None and len(coded) > 1:
        places = [p for c in coded if (m := f.codes.match("procedures", None, [c])) for p in places_of(m)]
        entry = {**entry, "sites": tuple(dict.fromkeys(places))}
    words = words_of(r.get("code"), coded)
    return (entry, words) if entry is not None or surgical(words) else None


def patient(f: Findings, r: dict[str, Any]) -> None:
    names = r.get("name")
    if isinstance(names, list) and names and isinstance(names[0], dict):
        first = names[0]
        given: list[Any] = first["given"] if isinstance(first.get("given"), list) else []
        text = first.get("text") or " ".join([*(str(g) for g in given), str(first.get("family", ""))]).strip()
        if text:
            f.set_fact("name", str(text))
    if isinstance(r.get("id"), str):
        f.set_fact("id", r["id"])
    died = r.get("deceasedDateTime") or (r.get("deceasedBoolean") is True)
    if died:
        when = f" on {str(died)[:10]}" if isinstance(died, str) else ""
        f.notes.insert(0, f"{describe(r)}: the record says this patient has died{when}")
    for said in _elsewhere(r):
        f.notes.insert(0, f"{describe(r)}: {said}; the plan may lack what is recorded there: check the record")
    f.used.append(f"{describe(r)}: name and id")


# R4 Patient.link types that say the client's information is (also) in another Patient record.
_LINKED = {
    "replaced-by": "this patient record is replaced by another, which must be used instead (Patient.link)",
    "refer": "this patient record refers to another for more of the client's information (Patient.link)",
}


def _elsewhere(r: dict[str, Any]) -> list[str]:
    """Why the record may not be the client's whole record: R4's Patient.active (a modifier) false, or a link
    to the record that replaces it or holds more of it (a merge of duplicate records leaves both)."""
    said = (
        ["the record says this patient record is not in active use (Patient.active false)"]
        if r.get("active") is False
        else []
    )
    links = r.get("link")
    for link in links if isinstance(links, list) else []:
        kind = link.get("type") if isinstance(link, dict) else None
        if kind in _LINKED and _LINKED[kind] not in said:
            said.append(_LINKED[kind])
    return said
