"""One reader per FHIR resource type: what it adds to the findings, or why it is set aside."""

from __future__ import annotations

from typing import Any

from osteocheck.client.records.fields import date, describe, status_code, text
from osteocheck.client.records.findings import Findings
from osteocheck.client.records.references import References
from osteocheck.words import one_line

_ACTIVE_CONDITION = {"active", "recurrence", "relapse"}
_REFUTED = {"refuted", "entered-in-error"}
_ACTIVE_MEDICATION = {"active", "intended", "on-hold"}
_DONE_PROCEDURE = {"completed", "in-progress"}
_FINAL_OBSERVATION = {"final", "amended", "corrected", "preliminary"}


def condition(f: Findings, r: dict[str, Any]) -> None:
    label, entry = f.recognise(r, "conditions", r.get("code"))
    if entry is None:
        return
    if status_code(r.get("verificationStatus")) in _REFUTED:
        f.set_aside.append(f"{label}: verification status {status_code(r.get('verificationStatus'))}")
        return
    status = status_code(r.get("clinicalStatus"))
    active = status is None or status in _ACTIVE_CONDITION
    if status is None:
        f.notes.append(f"{label}: no clinical status; counted as active")
    kind = entry.get("kind")
    if "stage" in entry:
        f.stages.append((entry["stage"], label))
        f.used.append(f"{label}: stage {entry['stage']}")
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
            f.data["fever"] = True
            f.used.append(f"{label}: fever (an infection of the whole body)")
            f.notes.append(
                f"{label}: active with no body site, so counted as an infection of the whole body (fever); "
                "ask the client"
            )
    elif "fact" in entry:
        if not active:
            f.set_aside.append(f"{label}: {status}")
            return
        declared = f.knowledge.fact(entry["fact"])
        if declared is None:
            f.notes.append(f"{label}: the code map names '{entry['fact']}', which the knowledge does not declare")
        elif declared.per_site:
            _at_sites(f, r, label, declared.id, f.site_of(r, entry))
        else:
            f.data[entry["fact"]] = True
            f.used.append(f"{label}: {entry['fact']}")


def _at_sites(f: Findings, r: dict[str, Any], label: str, fact: str, sites: list[str]) -> None:
    for site in sites:
        f.add_site(fact, site)
    f.used.append(f"{label}: {fact} {', '.join(sites)}" if sites else f"{label}: no body site")
    if not sites:
        f.notes.append(f"{label}: active but without a recognised body site; ask the client where")


def fracture(f: Findings, r: dict[str, Any], entry: dict[str, Any], label: str, *, active: bool) -> None:
    f.data["fracture_history"] = True
    when = date(r.get("onsetDateTime")) or date(r.get("recordedDate"))
    recent = when is not None and (f.today - when).days <= f.codes.fresh_fracture_days
    if active and (recent or when is None):
        sites = f.site_of(r, entry)
        for site in sites:
            f.add_site("fresh_fractures", site)
        if when is None:
            f.notes.append(f"{label}: active fracture with no date; counted as not healed")
        if sites:
            f.used.append(f"{label}: fresh fracture at {', '.join(sites)}; fracture history")
        else:
            f.used.append(f"{label}: fracture history")
            f.notes.append(f"{label}: fresh fracture without a recognised body site; ask the client where")
    else:
        f.used.append(f"{label}: fracture history")


def medication(f: Findings, r: dict[str, Any], references: References) -> None:
    concept = r.get("medicationCodeableConcept")
    reference = r.get("medicationReference")
    if concept is None and reference is not None:
        target = references.resolve(r, reference)
        concept = target.get("code") if target else None
        if target is None:
            shown = reference.get("reference") if isinstance(reference, dict) else reference
            f.notes.append(
                f"{describe(r)}: its medication ({one_line(str(shown))[:80]}) is not in the record; ask the client"
            )
    label, entry = f.recognise(r, "medications", concept)
    if entry is None:
        return
    status = text(r.get("status"))
    if status not in _ACTIVE_MEDICATION:
        f.set_aside.append(f"{label}: status {status}")
        return
    declared = f.knowledge.fact(entry["fact"])
    if declared is None or declared.per_site:
        f.notes.append(f"{label}: the code map names '{entry['fact']}', which is not a yes/no fact here")
        return
    f.data[entry["fact"]] = True
    f.used.append(f"{label}: {entry['fact']}")


def procedure(f: Findings, r: dict[str, Any]) -> None:
    label = describe(r, r.get("code"))
    if text(r.get("status")) not in _DONE_PROCEDURE:
        f.set_aside.append(f"{label}: status {r.get('status')}")
        return
    period = r.get("performedPeriod")
    when = date(r.get("performedDateTime")) or (
        date(period.get("end") or period.get("start")) if isinstance(period, dict) else None
    )
    if when is None or (f.today - when).days > f.codes.recent_surgery_days:
        f.set_aside.append(f"{label}: not recent" if when else f"{label}: no date")
        return
    sites = f.site_of(r, {})
    for site in sites:
        f.add_site("post_surgical", site)
    if sites:
        f.used.append(f"{label}: post-surgical site {', '.join(sites)}")
    else:
        f.unrecognised.append(f"{label}: recent, but without a recognised body site")
        f.notes.append(f"{label}: recent procedure without a recognised body site; ask the client where")


def observation(f: Findings, r: dict[str, Any]) -> None:
    label, entry = f.recognise(r, "observations", r.get("code"))
    if entry is None:
        return
    quantity = r.get("valueQuantity")
    value = quantity.get("value") if isinstance(quantity, dict) else None
    if (
        text(r.get("status")) not in _FINAL_OBSERVATION
        or isinstance(value, bool)
        or not isinstance(value, (int, float))
    ):
        f.set_aside.append(f"{label}: status {r.get('status')}, value {value!r}")
        return
    f.t_scores.append((float(value), label))


def patient(f: Findings, r: dict[str, Any]) -> None:
    names = r.get("name")
    if isinstance(names, list) and names and isinstance(names[0], dict):
        first = names[0]
        given: list[Any] = first["given"] if isinstance(first.get("given"), list) else []
        text = first.get("text") or " ".join([*(str(g) for g in given), str(first.get("family", ""))]).strip()
        if text:
            f.data["name"] = str(text)
    if isinstance(r.get("id"), str):
        f.data["id"] = r["id"]
    f.used.append(f"Patient/{r.get('id')}: name and id")
