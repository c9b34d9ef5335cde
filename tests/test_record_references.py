"""Every form of FHIR reference reaches the medication it names, and contained ids are scoped to their holder."""

from __future__ import annotations

from typing import Any

import pytest

from osteocheck.client.records.derive import derive, load_code_map
from osteocheck.engine.model import Knowledge

CODES = load_code_map()
RXNORM = CODES.systems["rxnorm"]
# The anticoagulant is taken from the shipped code map itself, never typed here.
WARFARIN = next(e for e in CODES.entries("medications") if e["system"] == "rxnorm" and e["fact"] == "anticoagulants")
ANTICOAGULANT = {"coding": [{"system": RXNORM, "code": WARFARIN["code"], "display": WARFARIN["display"]}]}
OTHER = {"coding": [{"system": RXNORM, "code": "not-in-the-map", "display": "calcium carbonate"}], "text": "calcium"}


def statement(ident: str, reference: str, contained: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": ident,
        "status": "active",
        "medicationReference": {"reference": reference},
    }
    if contained is not None:
        resource["contained"] = contained
    return resource


def bundle(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": list(entries)}


def test_contained_ids_are_scoped_to_the_resource_holding_them(kb: Knowledge) -> None:
    both = bundle(
        {"resource": statement("s1", "#med", [{"resourceType": "Medication", "id": "med", "code": ANTICOAGULANT}])},
        {"resource": statement("s2", "#med", [{"resourceType": "Medication", "id": "med", "code": OTHER}])},
    )
    assert derive(both, CODES, kb).data.get("anticoagulants") is True
    reversed_order = {**both, "entry": both["entry"][::-1]}
    assert derive(reversed_order, CODES, kb).data.get("anticoagulants") is True


@pytest.mark.parametrize(
    ("full_url", "reference"),
    [
        ("urn:uuid:8c5d7f2e-0000-4000-8000-000000000001", "urn:uuid:8c5d7f2e-0000-4000-8000-000000000001"),
        ("https://ehr.example/fhir/Medication/m1", "https://ehr.example/fhir/Medication/m1"),
        ("https://ehr.example/fhir/Medication/m1", "Medication/m1"),
        ("https://ehr.example/fhir/Medication/m1", "https://other.example/fhir/Medication/m1/_history/2"),
    ],
)
def test_every_reference_form_reaches_the_medication(kb: Knowledge, full_url: str, reference: str) -> None:
    record = bundle(
        {"fullUrl": full_url, "resource": {"resourceType": "Medication", "id": "m1", "code": ANTICOAGULANT}},
        {"resource": statement("s1", reference)},
    )
    imported = derive(record, CODES, kb)
    assert imported.data.get("anticoagulants") is True
    assert any("anticoagulants" in line for line in imported.used)


def test_a_medication_missing_from_the_record_is_said(kb: Knowledge) -> None:
    imported = derive(bundle({"resource": statement("s1", "Medication/gone")}), CODES, kb)
    assert "anticoagulants" not in imported.data
    assert any("is not in the record; ask the client" in note for note in imported.notes)


@pytest.mark.parametrize("held", ["contained", "in the bundle"])
def test_a_compounded_drug_counts_by_its_ingredients(kb: Knowledge, held: str) -> None:
    """R4 Medication.ingredient: a compounded capsule may name its anticoagulant only there."""

    def made_of(*items: dict[str, Any]) -> dict[str, Any]:
        medication = {"resourceType": "Medication", "id": "m1", "code": {"text": "Compounded capsule"},
                      "ingredient": [{"itemCodeableConcept": item} for item in items]}  # fmt: skip
        if held == "contained":
            return bundle({"resource": statement("s1", "#m1", [medication])})
        return bundle({"resource": medication}, {"resource": statement("s1", "Medication/m1")})

    coded = derive(made_of(OTHER, ANTICOAGULANT), CODES, kb)
    assert coded.data == {"anticoagulants": True}
    assert coded.used == (
        f"MedicationStatement/s1 (Compounded capsule) (by its ingredient {WARFARIN['display']}): anticoagulants",
    )
    by_name = derive(made_of({"text": "Coumadin 5 mg"}), CODES, kb)
    assert (
        by_name.data == {"anticoagulants": True} and "ingredient Coumadin 5 mg; recognised by name" in by_name.used[0]
    )
    inert = derive(made_of(OTHER), CODES, kb)
    assert inert.data == {} and inert.unrecognised == ("MedicationStatement/s1 (Compounded capsule)",)
    # every ingredient counts, not only the first the map or its words know
    both = derive(made_of(OTHER, {"text": "dexamethasone"}, ANTICOAGULANT), CODES, kb)
    assert both.data == {"corticosteroids": True, "anticoagulants": True}
    assert both.used[0].startswith(
        f"MedicationStatement/s1 (Compounded capsule) (by its ingredients dexamethasone, {WARFARIN['display']}; "
        "recognised by name"
    )


def test_a_drug_known_only_by_its_reference_s_display_counts_by_that_name(kb: Knowledge) -> None:
    """The Medication is not in the record, or says nothing itself: the reference's display is all there is."""
    said = WARFARIN["display"]
    for reference, held in [({"display": said}, []), ({"reference": "Medication/gone", "display": said}, []),
                            ({"reference": "#m", "display": said}, [{"resourceType": "Medication", "id": "m"}])]:  # fmt: skip
        resource = statement("s1", "", held) | {"medicationReference": reference}
        imported = derive(bundle({"resource": resource}), CODES, kb)
        assert imported.data == {"anticoagulants": True}, reference
        assert imported.used == (
            f"MedicationStatement/s1 ({said}) (recognised by name: confirm with the client): anticoagulants",
        )
    unnamed = derive(bundle({"resource": statement("s1", "", None) | {"medicationReference": {}}}), CODES, kb)
    assert unnamed.notes == (
        "MedicationStatement/s1: its medication (no reference) is not in the record; ask the client",
    )


MODIFIER = {
    "modifierExtension": [{"url": "https://ehr.example/fhir/StructureDefinition/not-this", "valueBoolean": True}]
}


@pytest.mark.parametrize("held", ["contained", "in the bundle"])
def test_a_medication_s_modifier_is_said_once_however_many_statements_use_it(kb: Knowledge, held: str) -> None:
    """R4: a reader must check for modifiers, a contained Medication's too; read as written, and said."""
    medication = {"resourceType": "Medication", "id": "m1", "code": ANTICOAGULANT} | MODIFIER
    if held == "contained":
        record = bundle({"resource": statement("s1", "#m1", [medication])})
    else:
        record = bundle({"resource": medication}, *({"resource": statement(s, "Medication/m1")} for s in ("s1", "s2")))
    imported = derive(record, CODES, kb)
    assert imported.data.get("anticoagulants") is True
    said = [n for n in imported.notes if "carries a modifier extension (https://ehr.example/" in n]
    assert len(said) == 1 and said[0].startswith("Medication/m1 ("), imported.notes


def test_a_medication_no_statement_uses_is_not_read_nor_its_modifier(kb: Knowledge) -> None:
    medication = {"resourceType": "Medication", "id": "m1", "code": ANTICOAGULANT} | MODIFIER
    imported = derive(bundle({"resource": medication}), CODES, kb)
    assert imported.data == {} and imported.notes == () and imported.unrecognised == ()
