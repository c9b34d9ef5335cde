"""The prefetch templates ask the EHR for what the importer reads and no more: asking for less never
changes a plan, on the real records judged at many dates, and on every status at the window's edges."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from typing import Any

import pytest

from conftest import ROOT
from osteocheck import api
from osteocheck.client.records import resources
from osteocheck.client.records.codes import load_code_map
from osteocheck.service import hooks
from osteocheck.service.request import as_bundle

pytest.importorskip("starlette", reason="the serve extra is not installed")

CODES = load_code_map()
WINDOW = CODES.recent_surgery_days
RECORDS = [
    json.loads(p.read_text())
    for p in [
        *sorted((ROOT / "examples" / "fhir").glob("*.json")),
        *sorted((ROOT / "tests/data/fhir/synthea").glob("*.json")),
    ]
] + hooks.bulk_records(ROOT / "tests" / "data" / "fhir" / "bulk-ndjson")
_EVENTS = ("performedDateTime", "authoredOn", "onsetDateTime", "recordedDate", "effectiveDateTime", "start", "end")


def _days(bundle: dict[str, Any]) -> list[dt.date]:
    """The dates to judge a record at: its last event, and for each of its three latest procedures the
    last day it counts as recent and the two days after (the edge of the window its search asks for)."""
    found: list[str] = []
    done: list[str] = []

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
            if value.get("resourceType") == "Procedure":
                done.append(hooks.last_day(value))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in _EVENTS and len(value) >= 10:
            found.append(value[:10])

    walk(bundle)
    days = {dt.date.fromisoformat(max(found))}
    for when in sorted(d for d in done if len(d) == 10)[-3:]:
        last = dt.date.fromisoformat(when) + dt.timedelta(days=WINDOW)
        days |= {last, last + dt.timedelta(days=1), last + dt.timedelta(days=2)}
    return sorted(days)


def _compared(plan: dict[str, Any]) -> dict[str, Any]:
    """A plan without what differs by design: the record's name and the resources it set aside or did
    not recognise (the EHR is not asked for what the importer does not read)."""
    record = plan["record"]
    return {**plan, "record": {k: sorted(record[k]) for k in ("used", "notes")}}


@pytest.mark.parametrize("number", range(len(RECORDS)))
def test_asking_for_less_never_changes_the_plan_of_a_real_record(number: int) -> None:
    record = RECORDS[number]
    for day in _days(record):
        request = hooks.request_for(record, "patient-view", CODES, today=day)
        patient = request["context"]["patientId"]
        asked = api.plan(bundle=as_bundle(request["prefetch"]), patient=patient, as_of=day)
        whole = api.plan(bundle=record, patient=patient, as_of=day)
        assert _compared(asked) == _compared(whole), day


def _r4_statuses(kind: str) -> list[str]:
    module = importlib.import_module(f"fhir.resources.{kind.lower()}")
    statuses: list[str] = getattr(module, kind).__fields__["status"].field_info.extra["enum_values"]
    return statuses


@pytest.mark.parametrize("kind", sorted(hooks.COUNTED))
def test_the_searches_ask_for_each_status_the_importer_counts(kind: str) -> None:
    counted = set(resources.COUNTED[kind])
    assert set(hooks.COUNTED[kind]) == counted & set(_r4_statuses(kind))
    # every R4 status is either counted or says it did not happen: none falls between
    assert set(hooks.COUNTED[kind]) | resources._NOT_TAKEN[kind] == set(_r4_statuses(kind))
    assert not set(hooks.COUNTED[kind]) & resources._NOT_TAKEN[kind]


def test_a_dxa_result_kept_under_loinc_s_oid_is_asked_for_too() -> None:
    """A record converted from C-CDA may keep a T-score under urn:oid:...; the importer reads it, so the
    search must find it, or the service's plan would be milder than the command line's."""
    (oid,) = [alias for alias, uri in (CODES.aliases or {}).items() if uri == "http://loinc.org"]
    t_score = next(e for e in CODES.entries("observations") if e.get("t_score"))
    scan = {"resourceType": "Observation", "id": "o", "status": "final", "subject": {"reference": "Patient/p"},
            "code": {"coding": [{"system": oid, "code": t_score["code"]}]}, "valueQuantity": {"value": -3.1}}  # fmt: skip
    record = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}, {"resource": scan}]}  # fmt: skip
    day = dt.date(2026, 3, 1)
    request = hooks.request_for(record, "patient-view", CODES, today=day)
    asked = api.plan(bundle=as_bundle(request["prefetch"]), patient="p", as_of=day)
    assert asked["profile"]["t_score"] == -3.1 == api.plan(bundle=record, patient="p", as_of=day)["profile"]["t_score"]


def test_dxa_panels_are_asked_for_and_give_the_plan_of_the_whole_record() -> None:
    """A T-score given only as a panel's component (under LOINC's URI or its OID) is found by the panels'
    search; one found by both searches is read once, as the whole record reads it."""
    (oid,) = [alias for alias, uri in (CODES.aliases or {}).items() if uri == "http://loinc.org"]
    t_score = next(e for e in CODES.entries("observations") if e.get("t_score"))
    uri, by_oid = ({"coding": [{"system": system, "code": t_score["code"]}]} for system in ("http://loinc.org", oid))
    patient = {"resourceType": "Patient", "id": "p"}
    panel = {"resourceType": "Observation", "id": "panel", "status": "final", "code": {"text": "DXA report"},
             "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2026-02-01",
             "component": [{"code": by_oid, "valueQuantity": {"value": -2.9}}]}  # fmt: skip
    both = {**panel, "id": "both", "code": uri, "valueQuantity": {"value": -2.2},
            "component": [{"code": uri, "valueQuantity": {"value": -2.2}}]}  # fmt: skip
    day = dt.date(2026, 3, 1)
    for held in ([panel], [both], [panel, both]):
        record = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in [patient, *held]]}
        request = hooks.request_for(record, "patient-view", CODES, today=day)
        asked = api.plan(bundle=as_bundle(request["prefetch"]), patient="p", as_of=day)
        whole = api.plan(bundle=record, patient="p", as_of=day)
        assert _compared(asked) == _compared(whole), held
        assert asked["profile"]["t_score"] == min(-2.9 if panel in held else 0, -2.2 if both in held else 0)


def _coded(section: str) -> dict[str, Any]:
    entry = CODES.entries(section)[0]
    return {"coding": [{"system": CODES.systems[entry["system"]], "code": entry["code"], "display": entry["display"]}]}


@pytest.mark.parametrize("kind", sorted(hooks.COUNTED))
def test_at_the_window_s_edges_every_status_gives_the_plan_of_the_whole_record(kind: str) -> None:
    """Each R4 status, a day inside the window, its last day, the day after; a medication named in
    place or by reference; a dated kind on a day, over a period, or from a day on. (Not a resource
    without a status: R4 requires one on each of these kinds, so no server's search by status finds
    one; the importer counts it when it reads a whole record, docs/hazards.md H32.)"""
    day = dt.date(2026, 3, 1)
    window = WINDOW if kind == "Procedure" else CODES.recent_medication_days
    patient = {"resourceType": "Patient", "id": "p"}
    drug = {"resourceType": "Medication", "id": "d", "code": _coded("medications")}
    _, on, during = resources.WHEN.get(kind, ("", "", ""))
    for status in _r4_statuses(kind):
        for back in (window - 1, window, window + 1, window + 2):
            when = (day - dt.timedelta(days=back)).isoformat()
            times = [{on: when}, {on: when[:7]}] if on else [{}]  # a day, or a month only (FHIR allows it)
            if during:
                times += [{during: {"start": "2020-01-01", "end": when}}, {during: {"start": when}}]
            if kind == "Procedure":
                made = [{"code": _coded("procedures"), **t} for t in times]
            else:
                named = [
                    {"medicationCodeableConcept": _coded("medications")},
                    {"medicationReference": {"reference": "Medication/d"}},
                ]
                made = [{**n, **t} for n in named for t in times]
            for n, fields in enumerate(made):
                resource = {
                    "resourceType": kind,
                    "id": f"r{n}",
                    "subject": {"reference": "Patient/p"},
                    "status": status,
                    **fields,
                }
                record = {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": r} for r in (patient, drug, resource)],
                }
                request = hooks.request_for(record, "patient-view", CODES, today=day)
                asked = api.plan(bundle=as_bundle(request["prefetch"]), patient="p", as_of=day)
                whole = api.plan(bundle=record, patient="p", as_of=day)
                assert _compared(asked) == _compared(whole), (status, back, fields)
