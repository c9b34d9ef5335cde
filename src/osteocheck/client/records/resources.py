"""One reader per FHIR resource type: what it adds to the findings, or why it is set aside."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from osteocheck.client.records.body_words import sites_named
from osteocheck.client.records.fields import describe, earliest, latest, status_code, text, words_of
from osteocheck.client.records.findings import Findings
from osteocheck.client.records.names import MARK, NOT_SYSTEMIC, T_SCORE, local_route, surgical
from osteocheck.client.records.references import References
from osteocheck.engine.stage import classify
from osteocheck.vocabulary import T_SCORE_RANGE
from osteocheck.words import one_line

_ACTIVE_CONDITION = {"active", "recurrence", "relapse"}
_INACTIVE_CONDITION = {"inactive", "remission", "resolved"}  # with the active ones, R4's condition-clinical
_REFUTED = {"refuted", "entered-in-error"}
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
# A T-score of these statuses counts as read; of any other, only as far as it makes the plan stricter
# (counted outright, it could make the stage milder than the one assumed without it).
_FINAL_OBSERVATION = {"final", "amended", "corrected", "preliminary"}


def condition(f: Findings, r: dict[str, Any]) -> None:
    label, entry = f.recognise(r, "conditions", r.get("code"))
    if entry is None:
        return
    if status_code(r.get("verificationStatus")) in _REFUTED:
        f.set_aside.append(f"{label}: verification status {status_code(r.get('verificationStatus'))}")
        return
    status = status_code(r.get("clinicalStatus"))
    active = status not in _INACTIVE_CONDITION
    if status is None:
        f.notes.append(f"{label}: no clinical status; counted as active")
    elif status not in _ACTIVE_CONDITION | _INACTIVE_CONDITION:
        f.notes.append(f"{label}: clinical status {one_line(status)[:40]} is not an R4 code; counted as active")
    if "stage" in entry:
        f.add_stage(entry["stage"], label)
        f.used.append(f"{label}: stage {entry['stage']}")
    for meaning in (entry, *entry.get("also", ())):  # a label read by its words may name several
        _condition_means(f, r, meaning, label, status, active=active)


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
    when, partly = _dated(r.get("onsetDateTime"), *_ends(onset), r.get("recordedDate"))
    recent = when is not None and (f.today - when).days <= f.codes.fresh_fracture_days
    if recent:
        _partly_dated(f, label, partly)
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
                modified(f, target)  # contained, in the Bundle or in a Bulk Data export alike
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
        when, partly = _happened(r, "MedicationDispense", "MedicationAdministration")
        if when is None or (f.today - when).days > f.codes.recent_medication_days:
            f.set_aside.append(f"{label}: not recent" if when else f"{label}: no date")
            if when is None:
                f.notes.append(
                    f"{label}: {_GIVEN[str(kind)]} with no date, so not counted as taken now; ask the client"
                )
            return
    # a label read by its words, or a compounded drug's ingredients, may name several
    taken = [_medication_means(f, r, m, label, concept, references) for m in (entry, *entry.get("also", ()))]
    if not any(taken):
        return
    _doubted(f, label, status, counted, "taken")
    _partly_dated(f, label, partly)
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


def _partly_dated(f: Findings, label: str, partly: str) -> None:
    """The note on an event counted by the last day its month or year can mean (`_dated`)."""
    if partly:
        f.notes.append(f"{label}: dated {partly} only, so judged by its last day; ask the client")


def _ends(period: object) -> tuple[object, object]:
    """A Period's end, then its start (an ongoing one has only a start)."""
    return (period.get("end"), period.get("start")) if isinstance(period, dict) else (None, None)


_GIVEN = {"MedicationDispense": "dispensed", "MedicationAdministration": "given"}


def _happened(r: dict[str, Any], *kinds: str) -> tuple[dt.date | None, str]:
    """When `r` happened, by the date fields of `kinds` (`WHEN`), as `_dated` reads them. A drug is read
    by both of its dated kinds' fields: a dispense written with an administration's time was taken all
    the same."""
    values: list[object] = []
    for kind in kinds:
        _, on, during = WHEN[kind]
        values += [r.get(on), *_ends(r.get(during))]
    return _dated(*values)


def _dated(*values: object, read: Callable[[object], dt.date | None] = latest) -> tuple[dt.date | None, str]:
    """The first of `values` that is a date, as its last day (`fields.latest`; `read=earliest`, its first),
    and how it was written when it gives only a year or a month, else ""."""
    for value in values:
        day = read(value)
        if day is not None:
            return day, (str(value) if len(str(value)) < 10 else "")  # shorter than a day: a year or a month
    return None, ""


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
    when, partly = _happened(r, "Procedure")
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
    if sites:
        f.used.append(f"{label}: post-surgical site {', '.join(sites)}")
    else:
        f.unrecognised.append(f"{label}: recent, but without a recognised body site")
        f.notes.append(f"{label}: recent procedure without a recognised body site; ask the client where")


def _surgery(f: Findings, r: dict[str, Any]) -> tuple[dict[str, Any] | None, str] | None:
    """A procedure's code-map entry and words when it is surgery (by the map, else by its words), else None."""
    entry = f.codes.match("procedures", r.get("code"))
    words = words_of(r.get("code"))
    return (entry, words) if entry is not None or surgical(words) else None


def observation(f: Findings, r: dict[str, Any]) -> None:
    if "component" in r and f.codes.match("observations", r.get("code")) is None and _components(f, r):
        return
    label, entry = f.recognise(r, "observations", r.get("code"))
    if entry is not None:
        _reading(f, r, r, label)
    elif _by_words(f, r, r, label) and f.unrecognised[-1:] == [label]:
        f.unrecognised.pop()


def _by_words(f: Findings, r: dict[str, Any], valued: dict[str, Any], label: str) -> bool:
    """A T-score under a code the map does not know, named by its words ("DXA T-score L1-L4" under a
    clinic's own code), in the osteoporosis range: stage osteoporosis at least. Above it, such a reading
    would make the plan milder on words alone: left as not recognised. Whether it was counted."""
    value = _t_value(valued)
    if (
        value is None
        or classify(value, f.knowledge) != "osteoporosis"
        or text(r.get("status")) in _VOID_OBSERVATION
        or not T_SCORE.search(words_of(valued.get("code")))
    ):
        return False
    why = f"T-score {value:g} named by its words only, so counted only as far as it makes the plan stricter"
    _osteoporosis_at_least(f, f"{label} ({MARK})", f"T-score {value:g}", why)
    return True


def _components(f: Findings, r: dict[str, Any]) -> bool:
    """A DXA panel may give its T-scores as components (R4 Observation.component: a code and a value each)
    rather than as Observations of their own: each the map knows is read as one, with the panel's status,
    dates and modifiers. Whether any was."""
    found = False
    for part in r["component"] if isinstance(r["component"], list) else ():
        concept = part.get("code") if isinstance(part, dict) else None
        if concept is not None and f.codes.match("observations", concept) is not None:
            _reading(f, r, part, f"{describe(r, concept)}, a component")
            found = True
        elif concept is not None:
            found = _by_words(f, r, part, f"{describe(r, concept)}, a component") or found
    return found


def _reading(f: Findings, r: dict[str, Any], valued: dict[str, Any], label: str) -> None:
    """A T-score: `valued` holds its value (the Observation, or a component of it), `r` all else."""
    status = text(r.get("status"))
    value = _t_value(valued)
    modified = ("modifierExtension" in r or "implicitRules" in r) and _modifiers(r)  # read_resource's gate first
    if modified and value is not None and classify(value, f.knowledge) != "osteoporosis":
        # A modifier may say the value is not to be relied on: read as written, a normal reading would make
        # the plan milder than none at all. One in the osteoporosis range is no milder, whatever it says.
        why = f"its value ({_shown(valued)}) comes with a modifier osteocheck cannot read, so counted as osteoporosis"
        _osteoporosis_at_least(f, label, "T-score with a modifier", why)
        return
    if status in _FINAL_OBSERVATION:
        if value is not None:
            if not _outdated(f, r, label, value):
                f.add_t_score(value, label)
            return
        # Fail closed: a T-score the record holds but whose value cannot be read may be in the osteoporosis
        # range, and the plan must not rest on a milder diagnosis beside it (as with no stage at all).
        why = f"its value ({_shown(valued)}) is no T-score osteocheck can read, so counted as osteoporosis"
        _osteoporosis_at_least(f, label, "T-score not read", why)
        return
    said = one_line(status or "not recorded")[:40]
    if status not in _VOID_OBSERVATION and value is not None and classify(value, f.knowledge) == "osteoporosis":
        # Not final, but a measurement all the same: it may only make the stage stricter, never milder.
        why = f"T-score {value:g} of status {said}, so counted only as far as it makes the plan stricter"
        _osteoporosis_at_least(f, label, f"T-score {value:g}, status {said}", why)
        return
    f.set_aside.append(f"{label}: status {said}, value {_shown(valued)}")


def _outdated(f: Findings, r: dict[str, Any], label: str, value: float) -> bool:
    """A T-score above the osteoporosis range, measured longer ago than the map's years for its band (or
    at no known date, or dated after the record's day: a mistyped year), no longer shows the bones are
    above it: set aside, with a note, and never milder than the plan without it. A reading in the
    osteoporosis range counts however old."""
    years = f.codes.t_score_current_for(value) if classify(value, f.knowledge) != "osteoporosis" else None
    if years is None:
        return False
    start, end = _ends(r.get("effectivePeriod"))[::-1]
    when, _ = _dated(r.get("effectiveDateTime"), r.get("effectiveInstant"), start, end, r.get("issued"), read=earliest)
    if when is not None and when > f.today and (when - f.today).days > 1:  # a day's leeway: its own time zone
        said = f"dated {when.isoformat()}, after the day the record is judged at ({f.today.isoformat()})"
        f.set_aside.append(f"{label}: T-score {value:g}, {said}")
        f.notes.append(f"{label}: T-score {value:g} {said}, so not known to be current and not counted; check its date")
        return True
    if when is not None and (f.current_on - when).days <= years * 365.25:
        return False
    said = f"measured {when.isoformat()}" if when is not None else "with no date"
    later = f.current_on > f.today  # judged for a session after the record's day
    f.set_aside.append(
        f"{label}: T-score {value:g}, {said}: not current" + (f" on the session's day, {f.current_on}" if later else "")
    )
    f.notes.append(
        f"{label}: T-score {value:g} {said}, so not counted: a reading in its range is current for {years:g} "
        f"year{'s' if years != 1 else ''} (1 in 10 older women reach osteoporosis in that time, "
        f"{f.codes.t_score_reference.split(',')[0]})"
        + (f", and the session is on {f.current_on}" if later else "")
        + "; ask for a newer DXA result"
    )
    return True


def modified(f: Findings, r: dict[str, Any]) -> None:
    """R4 requires a reader to check for modifier extensions and implicit rules: they may change what a
    resource means (say, that a drug was not given, or a condition is a relative's). osteocheck knows none:
    the resource is read as written, which counts what it names, and the therapist is told to check it
    (a T-score above the osteoporosis range, which written would make the plan milder, counts as
    osteoporosis: `observation`). A Medication is checked where a statement uses it, once however many do."""
    said = _modifiers(r)
    if said:
        name = describe(r, r.get("code") or r.get("medicationCodeableConcept"))
        note = (
            f"{name}: carries {' and '.join(said)}, which osteocheck cannot read and which may change what it says; "
            "read as written: check the record"
        )
        if note not in f.notes:
            f.notes.append(note)


def _modifiers(r: dict[str, Any]) -> list[str]:
    """The modifiers a resource carries, in words: malformed, each still says the resource means more than
    it writes; null says nothing."""
    said = []
    extensions = r.get("modifierExtension")
    if extensions is not None:
        urls = (
            [one_line(x["url"])[:80] for x in extensions if isinstance(x, dict) and isinstance(x.get("url"), str)]
            if isinstance(extensions, list)
            else []
        )
        said.append(f"a modifier extension ({', '.join(urls[:3]) or 'no URL'}{', ...' if len(urls) > 3 else ''})")
    rules = r.get("implicitRules")
    if rules is not None:
        said.append(
            f"implicit rules ({one_line(rules)[:80] if isinstance(rules, str) and rules.strip() else 'not a URI'})"
        )
    return said


def _osteoporosis_at_least(f: Findings, label: str, read: str, why: str) -> None:
    """Stage osteoporosis at least, from a T-score the plan cannot take as it stands, and a note to check it."""
    f.add_stage("osteoporosis", label)
    f.used.append(f"{label}: {read}: stage osteoporosis at least")
    f.notes.append(f"{label}: {why}; check the DXA report")


# R4 observation-status: a result that never was, or was withdrawn.
_VOID_OBSERVATION = {"cancelled", "entered-in-error"}
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def _t_value(r: dict[str, Any]) -> float | None:
    """The T-score an Observation states: a Quantity's value, an integer, or a number written as text
    (with a typographic minus, as reports print it); None when it states none plainly, or one no T-score
    can be (a slip in the record, which must not stop the plan). A Quantity "less than" a value is a bound,
    not a T-score: read as the value, "< -1.0" would be normal, and the bones may be far below it."""
    quantity = r.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("comparator") in ("<", "<="):
        return None
    for value in (quantity.get("value") if isinstance(quantity, dict) else None, r.get("valueInteger"),
                  r.get("valueString")):  # fmt: skip
        number = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str) and _NUMBER.fullmatch(written := value.strip().replace("\u2212", "-")):
            number = float(written)
        if number is not None:
            low, high = T_SCORE_RANGE
            return number if low <= number <= high else None  # NaN is in no range
    return None


def _shown(r: dict[str, Any]) -> str:
    quantity = r.get("valueQuantity")
    value = quantity.get("value") if isinstance(quantity, dict) else r.get("valueInteger", r.get("valueString"))
    bound = quantity.get("comparator") if isinstance(quantity, dict) else None
    shown = "no number" if value is None else one_line(repr(value))[:40]
    return f"{one_line(str(bound))[:4]} {shown}" if isinstance(bound, str) else shown


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
