"""Real records nobody here wrote (Synthea bundles, unchanged), and the shapes clinics really export."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import ROOT, mapped, plan_json
from osteocheck import api
from osteocheck.cli.app import app
from osteocheck.client.records import derive as fhir
from osteocheck.client.records import names
from osteocheck.engine.model import Knowledge
from osteocheck.errors import ProfileError
from test_patterns import SITES

REAL = ROOT / "tests" / "data" / "fhir"
MIGUEL = REAL / "synthea" / "Miguel_Angel_Garica_f6d15182-f6ac-46cf-8cbd-afacd43be763.json"
FREDRICK = REAL / "synthea" / "Fredrick_Kris_ec6a5bb6-b412-4bb6-8219-11d66f52ae8b.json"
CODES = fhir.load_code_map()
LOCAL = "https://clinic.example.org/codes"  # a clinic's own codes, which no map holds: read by their words
WARFARIN = mapped("medications", system="rxnorm", display="warfarin sodium 5 MG Oral Tablet")


def bundle(*resources: dict[str, Any], timestamp: str = "2026-06-01T00:00:00Z") -> dict[str, Any]:
    return {"resourceType": "Bundle", "timestamp": timestamp, "entry": [{"resource": r} for r in resources]}


def confirm(label: str) -> str:
    """The note that asks the therapist to confirm what was counted under `label` by its words alone."""
    return f"{label}: counted by its words only, with no code osteocheck knows; confirm with the client"


def local_condition(text: str, **fields: object) -> dict[str, Any]:
    """An active Condition/c under a clinic's own code, which no map holds: read by its words."""
    return {"resourceType": "Condition", "id": "c", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": LOCAL, "code": "C"}], "text": text}, **fields}  # fmt: skip


def test_the_warfarin_clopidogrel_and_t_score_of_a_real_record_are_found() -> None:
    plan = plan_json("--fhir", str(MIGUEL))
    profile, record = plan["profile"], plan["record"]
    assert profile["anticoagulants"] is True and profile["t_score"] == pytest.approx(-3.29387)
    assert plan["stage"] == "osteoporosis"
    used = " ".join(record["used"])
    assert "Warfarin Sodium 5 MG Oral Tablet" in used and "Clopidogrel 75 MG Oral Tablet" in used
    assert "DXA [T-score] Bone density" in used
    assert record["notes"][0].endswith("the record says this patient has died on 2019-05-14")
    assert record["as_of"].endswith("(today: the record has no timestamp)")
    assert any(r["rule"] == "anticoagulants_modify" for t in plan["techniques"] for r in t["reasons"])


def test_the_resolved_clavicle_fracture_of_a_real_record_is_history_not_fresh() -> None:
    plan = plan_json("--fhir", str(FREDRICK))
    assert plan["profile"]["fracture_history"] is True and plan["profile"]["fresh_fractures"] == []
    assert any("Fracture of clavicle" in u and "recognised by name" in u for u in plan["record"]["used"])


def test_the_table_shows_the_record_in_short() -> None:
    result = CliRunner().invoke(app, ["plan", "--fhir", str(MIGUEL)])
    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if "Claim/" in line]
    assert lines == []  # hundreds of Claims are a count, not a page of lines
    assert "not recognised: " in result.stdout and "each is listed in --format json" in result.stdout


def test_a_bundle_from_standard_input() -> None:
    assert plan_json("--fhir", "-", stdin=MIGUEL.read_text(encoding="utf-8"))["profile"]["anticoagulants"] is True


def test_a_record_from_another_fhir_version_is_refused_by_name(kb: Knowledge) -> None:
    stu3 = bundle({"resourceType": "Condition", "clinicalStatus": "active", "code": {"text": "Osteoporosis"}})
    with pytest.raises(ProfileError, match=r"not a FHIR R4 record .*DSTU2 or STU3"):
        fhir.derive(stu3, CODES, kb)
    dstu2 = bundle({"resourceType": "MedicationOrder", "status": "active"})
    with pytest.raises(ProfileError, match="it holds MedicationOrder"):
        fhir.derive(dstu2, CODES, kb)
    # R5: read as R4, the drug (a CodeableReference) and the operation's date (occurrence[x]) go unread
    for r5, element in [
        ({"resourceType": "MedicationStatement", "status": "recorded", "medication": {"concept": WARFARIN}},
         "MedicationStatement.medication"),
        ({"resourceType": "Procedure", "status": "completed", "occurrenceDateTime": "2026-05-01"},
         "Procedure.occurrenceDateTime"),
    ]:  # fmt: skip
        with pytest.raises(ProfileError, match=rf"\({element} is an element of FHIR R5\); osteocheck reads R4 only"):
            fhir.derive(bundle(r5), CODES, kb)
    # STU3: an active status beside "not taken" or "not done", which read as R4 would count as taken or done
    for stu3, element in [
        ({"resourceType": "MedicationStatement", "status": "active", "taken": "n", "medicationCodeableConcept": WARFARIN},
         "MedicationStatement.taken"),
        ({"resourceType": "Procedure", "status": "completed", "notDone": True}, "Procedure.notDone"),
    ]:  # fmt: skip
        with pytest.raises(ProfileError, match=rf"\({element} is an element of FHIR STU3\)"):
            fhir.derive(bundle(stu3), CODES, kb)


def test_one_patient_per_plan(kb: Knowledge) -> None:
    two = {
        "resourceType": "Bundle",
        "entry": [
            {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "Patient", "id": "a", "name": [{"text": "Ann"}]}},
            {"fullUrl": "urn:uuid:b", "resource": {"resourceType": "Patient", "id": "b", "name": [{"text": "Bo"}]}},
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "status": "active",
                    "subject": {"reference": "urn:uuid:b"},
                    "medicationCodeableConcept": WARFARIN,
                }
            },
        ],
    }
    with pytest.raises(ProfileError, match=r"holds 2 patients .*--patient ID"):
        fhir.derive(two, CODES, kb)
    ann = fhir.derive(two, CODES, kb, patient="a")
    assert ann.data == {"name": "Ann", "id": "a"} and any("another patient's" in s for s in ann.set_aside)
    assert fhir.derive(two, CODES, kb, patient="b").data["anticoagulants"] is True
    with pytest.raises(ProfileError, match="no such Patient"):
        fhir.derive(two, CODES, kb, patient="c")
    # The API names its own argument, not the command line's flag.
    with pytest.raises(ProfileError, match=r"holds 2 patients \(a, b\); choose one with patient=ID$"):
        api.plan(bundle=two, knowledge=kb)
    with pytest.raises(ProfileError, match=r"^patient c: no such Patient in the record \(it holds: a, b\)$"):
        api.plan(bundle=two, knowledge=kb, patient="c")


def test_dispensed_and_administered_drugs_count_only_when_recent(kb: Knowledge) -> None:
    recent = {"resourceType": "MedicationDispense", "status": "completed", "whenHandedOver": "2026-05-01",
              "medicationCodeableConcept": WARFARIN}  # fmt: skip
    old = {**recent, "whenHandedOver": "2024-01-01"}
    given = {"resourceType": "MedicationAdministration", "status": "completed", "effectiveDateTime": "2026-05-20",
             "medicationCodeableConcept": {"text": "enoxaparin 40 mg injection"}}  # fmt: skip
    assert fhir.derive(bundle(recent), CODES, kb).data == {"anticoagulants": True}
    assert fhir.derive(bundle(old), CODES, kb).data == {}
    named = fhir.derive(bundle(given), CODES, kb)
    assert named.data == {"anticoagulants": True} and "recognised by name" in named.used[0]
    for undated, said in (({k: v for k, v in recent.items() if k != "whenHandedOver"}, "dispensed"),
                          ({k: v for k, v in given.items() if k != "effectiveDateTime"}, "given")):  # fmt: skip
        out = fhir.derive(bundle(undated), CODES, kb)  # not known to be taken now: the therapist asks
        assert out.data == {} and out.set_aside[0].endswith(": no date")
        assert out.notes[-1].endswith(f": {said} with no date, so not counted as taken now; ask the client")


def test_an_operation_with_no_date_is_asked_about_and_a_test_with_none_is_not(kb: Knowledge) -> None:
    replaced = {
        "resourceType": "Procedure",
        "id": "p",
        "status": "completed",
        "code": {"text": "Total hip replacement"},
    }
    measured = {**replaced, "code": {"text": "Blood pressure measurement"}}
    out = fhir.derive(bundle(replaced), CODES, kb)
    assert out.data == {} and out.set_aside == ("Procedure/p (Total hip replacement): no date",)
    assert out.notes == (
        "Procedure/p (Total hip replacement): surgery with no date, so not counted as recent; ask the client when it was",
    )
    out = fhir.derive(bundle(measured), CODES, kb)
    assert out.data == {} and out.notes == ()


DATED = {"MedicationDispense": {"whenHandedOver": "2026-05-01"}, "MedicationAdministration":
         {"effectiveDateTime": "2026-05-20"}, "Procedure": {"performedDateTime": "2026-05-01"}}  # fmt: skip
KINDS = ["MedicationStatement", "MedicationRequest", "MedicationDispense", "MedicationAdministration", "Procedure"]


def _of_kind(kind: str) -> dict[str, Any]:
    what = (
        {"code": {"text": "Total hip replacement"}} if kind == "Procedure" else {"medicationCodeableConcept": WARFARIN}
    )
    return {"resourceType": kind, **what, **DATED.get(kind, {})}


@pytest.mark.parametrize("kind", ["Procedure", "MedicationAdministration", "MedicationDispense"])
def test_what_is_in_progress_is_recent_whatever_dates_it_lacks(kb: Knowledge, kind: str) -> None:
    """R4 "in-progress": the event is happening now. Undated, it was set aside as not known to be recent:
    an operation going on, or a blood thinner being given, left the plan as if there were none."""
    undated = {k: v for k, v in _of_kind(kind).items() if k not in DATED.get(kind, {})} | {"status": "in-progress"}
    out = fhir.derive(bundle(undated), CODES, kb)
    assert out.data == ({"post_surgical": ["hips"]} if kind == "Procedure" else {"anticoagulants": True})
    assert [n for n in out.notes if "in progress with no date, so counted as recent" in n] == list(out.notes)
    assert len(out.notes) == 1
    assert not fhir.derive(bundle(undated | {"status": "completed"}), CODES, kb).data


@pytest.mark.parametrize("status", ["unknown", None, {"code": "active"}, "Active", "stoped"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_status_that_leaves_it_open_counts_and_says_so(kb: Knowledge, kind: str, status: object) -> None:
    """R4's "unknown" (one of the statuses applies, the source does not know which), none (R4 requires
    one), one that is not a code or one R4 does not name: when in doubt, the drug is taken and the
    surgery done."""
    resource = _of_kind(kind) | ({} if status is None else {"status": status})
    out = fhir.derive(bundle(resource), CODES, kb)
    assert out.data == ({"post_surgical": ["hips"]} if kind == "Procedure" else {"anticoagulants": True})
    said = status if isinstance(status, str) else "not recorded"
    assert any(f"status {said}, so counted as " in note and "ask the client" in note for note in out.notes)


@pytest.mark.parametrize(
    ("kind", "field", "said"),
    [("MedicationStatement", {"status": "intended"}, "status intended, so counted as taken"),
     ("MedicationStatement", {"status": "on-hold"}, "status on-hold, so counted as taken"),
     ("MedicationRequest", {"status": "on-hold"}, "status on-hold, so counted as taken"),
     ("MedicationRequest", {"status": "active", "intent": "proposal"}, "intent proposal, not an order"),
     ("MedicationRequest", {"status": "active", "intent": "plan"}, "intent plan, not an order"),
     ("MedicationStatement", {"status": "active", "effectivePeriod": {"start": "2020-01-01", "end": "2021-01-01"}},
      "its period ended 2021-01-01, yet its status is active, so counted as taken")],
)  # fmt: skip
def test_a_drug_the_record_does_not_say_is_taken_now_counts_and_says_so(
    kb: Knowledge, kind: str, field: dict[str, Any], said: str
) -> None:
    """Intended, paused, only proposed, or a period over while its status still counts it: whether the
    client takes it by the session is open, so it counts, the stricter reading, and the therapist asks."""
    out = fhir.derive(bundle(_of_kind(kind) | field), CODES, kb)
    assert out.data == {"anticoagulants": True}
    assert [note for note in out.notes if said in note and note.endswith("ask the client")] == list(out.notes)
    assert len(out.notes) == 1
    ordered = {"status": "active", "intent": "order", "effectivePeriod": {"start": "2026-01-01", "end": "2026-12-31"}}
    assert not fhir.derive(bundle(_of_kind(kind) | ordered), CODES, kb).notes


@pytest.mark.parametrize("status", ["stopped", "on-hold"])
def test_a_procedure_stopped_or_on_hold_has_begun(kb: Knowledge, status: str) -> None:
    """R4 event-status: "stopped" after some of the main activity, "on-hold" "temporarily stopped"."""
    out = fhir.derive(bundle(_of_kind("Procedure") | {"status": status}), CODES, kb)
    assert out.data == {"post_surgical": ["hips"]} and not out.notes


@pytest.mark.parametrize(
    ("kind", "status"),
    [("MedicationStatement", "not-taken"), ("MedicationStatement", "entered-in-error"), ("MedicationRequest", "draft"),
     ("MedicationRequest", "cancelled"), ("MedicationDispense", "declined"), ("MedicationAdministration", "not-done"),
     ("Procedure", "not-done"), ("Procedure", "preparation"), ("Procedure", "entered-in-error")],
)  # fmt: skip
def test_a_status_that_says_it_did_not_happen_is_set_aside(kb: Knowledge, kind: str, status: str) -> None:
    out = fhir.derive(bundle(_of_kind(kind) | {"status": status}), CODES, kb)
    assert out.data == {} and any(s.endswith(f": status {status}") for s in out.set_aside)


def test_a_clinical_status_r4_does_not_name_counts_as_active(kb: Knowledge) -> None:
    odd = {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "Active"}]},
           "code": mapped("conditions", fact="kyphosis", system="snomed")}  # fmt: skip
    out = fhir.derive(bundle(odd), CODES, kb)
    assert out.data == {"kyphosis": True}
    assert any("clinical status Active is not an R4 code; counted as active" in note for note in out.notes)
    resolved = fhir.derive(bundle(odd | {"clinicalStatus": {"coding": [{"code": "resolved"}]}}), CODES, kb)
    assert resolved.data == {} and not resolved.notes


@pytest.mark.parametrize("ended", [{"abatementDateTime": "2024-01-01"}, {"abatementString": "after treatment"}])
def test_an_active_condition_the_record_says_abated_counts_and_says_so(kb: Knowledge, ended: dict[str, str]) -> None:
    """R4 (con-4) gives a condition that abated an inactive status: one that is still active is counted, the
    stricter reading, and the contradiction asked about."""
    clot = {**local_condition(""), "code": mapped("conditions", fact="dvt", sites=["legs"]), **ended}
    out = fhir.derive(bundle(clot), CODES, kb)
    assert out.data == {"dvt": ["legs"]}
    assert [note.split(": ", 1)[1] for note in out.notes] == [
        "the record says it abated, yet not that it is inactive; counted as active; ask the client"
    ]
    resolved = {**clot, "clinicalStatus": {"coding": [{"code": "resolved"}]}}
    assert fhir.derive(bundle(resolved), CODES, kb).notes == ()


def test_a_steroid_cream_or_inhaler_is_not_systemic(kb: Knowledge) -> None:
    cream = {"resourceType": "MedicationStatement", "status": "active",
             "medicationCodeableConcept": {"text": "hydrocortisone 1 % topical cream"}}  # fmt: skip
    inhaler = {"resourceType": "MedicationRequest", "status": "active",
               "medicationCodeableConcept": {"coding": [{"system": LOCAL, "code": "BUD-INH",
                                                         "display": "budesonide 0.25 MG/ML Inhalation Suspension"}]}}  # fmt: skip
    tablets = {"resourceType": "MedicationStatement", "status": "active",
               "medicationCodeableConcept": mapped("medications", display="prednisone"),
               "dosage": [{"route": {"text": "oral"}}]}  # fmt: skip
    out = fhir.derive(bundle(cream, inhaler, tablets), CODES, kb)
    assert out.data == {"corticosteroids": True}
    assert sum("not a systemic corticosteroid" in s for s in out.set_aside) == 2
    # a list of drugs in words: each it names counts, and a cream's route is the cream's alone
    for listed, expected in [
        ("Hydrocortisone cream; warfarin 2 mg daily", {"anticoagulants": True}),
        ("Prednisone 5 mg daily; hydrocortisone cream", {"corticosteroids": True}),
        ("Warfarin 2 mg daily; prednisone 5 mg daily", {"anticoagulants": True, "corticosteroids": True}),
    ]:
        said = {**cream, "medicationCodeableConcept": {"text": listed}}
        assert fhir.derive(bundle(said), CODES, kb).data == expected, listed


def test_only_surgery_makes_a_post_surgical_site(kb: Knowledge) -> None:
    xray = {"resourceType": "Procedure", "status": "completed", "performedDateTime": "2026-05-01",
            "code": {"text": "Chest X-ray"}}  # fmt: skip
    hip = {"resourceType": "Procedure", "status": "completed", "performedDateTime": "2026-05-01",
           "code": {"text": "Total hip replacement"}}  # fmt: skip
    out = fhir.derive(bundle(xray, hip), CODES, kb)
    assert out.data == {"post_surgical": ["hips"]}
    assert any("not surgery" in s for s in out.set_aside)


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ({"text": "Fracture of forearm"}, {"fracture_history": True, "fresh_fractures": ["arms", "wrists"]}),
        ({"coding": [{"system": LOCAL, "code": "SEP-1", "display": "Sepsis (disorder)"}]}, {"fever": True}),
        ({"text": "Acute deep venous thrombosis of left calf"}, {"dvt": ["legs"]}),
        ({"text": "Pulmonary embolism"}, {"dvt": ["arms", "legs"]}),
        ({"coding": [{"system": LOCAL, "code": "CV-L", "display":
            "Collapsed vertebra, not elsewhere classified, lumbar region, initial encounter for fracture"}]},
         {"fracture_history": True, "fresh_fractures": ["spine"]}),
        ({"text": "Senile kyphosis"}, {"kyphosis": True}),
        ({"text": "Loss of height"}, {"height_loss": True}),
        ({"text": "Decreased height"}, {"height_loss": True}),
        ({"text": "Dowager's hump"}, {"kyphosis": True}), ({"text": "Stooped posture"}, {"kyphosis": True}),
        ({"text": "Unsteady gait"}, {"balance_issues": True}), ({"text": "Impaired balance"}, {"balance_issues": True}),
        ({"text": "Vertigo"}, {"balance_issues": True}),
        ({"text": "Bone metastases"}, {"cancer_in_bone": ["head", "neck", "shoulders", "arms", "wrists", "hands",
                                                          "ribs", "spine", "abdomen", "pelvis", "hips", "legs",
                                                          "knees", "ankles", "feet"]}),
    ],
)  # fmt: skip
def test_dangerous_conditions_the_map_lacks_count_by_their_name(
    kb: Knowledge, concept: dict[str, Any], expected: dict[str, object]
) -> None:
    active = {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
              "onsetDateTime": "2026-05-20", "code": concept}  # fmt: skip
    out = fhir.derive(bundle(active), CODES, kb)
    assert out.data == expected
    assert "recognised by name" in out.used[0] or "recognised by name" in " ".join(out.used)


def test_a_past_fracture_is_history_a_family_s_is_nobody_s_and_falls_are_a_fall_risk(kb: Knowledge) -> None:
    def read(text: str, **fields: object) -> dict[str, object]:
        found = {
            "resourceType": "Condition",
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"text": text},
        }
        return dict(fhir.derive(bundle(found | fields), CODES, kb).data)

    # undated, "history of" is the client's past: no fresh fracture everywhere; dated within weeks, it is fresh
    for past in ("History of hip fracture", "Hx of hip fracture", "S/P hip fracture", "Healed fracture of hip"):
        assert read(past) == {"fracture_history": True}, past
    for healing in ("Non-healed fracture of hip", "Hip fracture not healed", "Partially healed fracture of hip"):
        assert read(healing) == {"fracture_history": True, "fresh_fractures": ["hips"]}, healing
    for clot in ("H/O DVT", "Status post DVT", "Previous pulmonary embolism"):  # a past clot is no clot now
        assert read(clot) == {}, clot
    assert read("H/O DVT, recurrent") == {"dvt": ["arms", "legs"]}
    assert read("History of hip fracture", onsetDateTime="2026-05-20") == {"fracture_history": True,
                                                                          "fresh_fractures": ["hips"]}  # fmt: skip
    for someone_else in ("Family history of fracture", "Family history of osteoporosis"):
        assert read(someone_else) == {}
    # but only of its own clause: the client's fracture beside it was lost
    assert read("Fracture of hip; family history of osteoporosis") == {"fracture_history": True,
                                                                       "fresh_fractures": ["hips"]}  # fmt: skip
    for falls in ("History of falls", "Repeated falls", "At risk for falls", "Fall risk"):
        assert read(falls) == {"balance_issues": True}
    # a fracture once had stays had, whatever the problem list now says of it
    coded = mapped("conditions", fact="fracture_history", system="icd10cm")
    resolved = {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "resolved"}]}, "code": coded}
    assert fhir.derive(bundle(resolved), CODES, kb).data.get("fracture_history") is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # every condition a label names counts, not only the first
        ("Deep vein thrombosis after fracture of leg",
         {"fracture_history": True, "fresh_fractures": ["legs"], "dvt": ["legs"]}),
        ("Pathological fracture due to bone metastases of spine",
         {"fracture_history": True, "fresh_fractures": ["spine"], "cancer_in_bone": ["spine"]}),
        ("Open fracture of tibia with infection",
         {"fracture_history": True, "fresh_fractures": ["legs"], "active_infections": ["legs"]}),
        ("Laceration with fracture of forearm",
         {"fracture_history": True, "fresh_fractures": ["arms", "wrists"], "open_wounds": ["arms", "wrists"]}),
        ("Sepsis due to cellulitis of leg", {"fever": True, "active_infections": ["legs"]}),
        # a negation reaches the end of its clause, not the condition before it
        ("Closed fracture of thoracic vertebra without spinal cord injury",
         {"fracture_history": True, "fresh_fractures": ["spine"]}),
        ("Cellulitis of leg without abscess", {"active_infections": ["legs"]}),
        ("Acute deep venous thrombosis of calf without mention of embolism", {"dvt": ["legs"]}),
        ("No evidence of fracture, cellulitis of leg", {"active_infections": ["legs"]}),
        ("Osteoporosis without current pathological fracture", {"stage": "osteoporosis"}),
        ("No evidence of fracture", {}),
        ("Fracture ruled out", {}),
        ("No fracture of hip", {}),
        ("No improvement of fracture healing", {"fracture_history": True, "fresh_fractures": list(SITES)}),  # "no" of two words
        ("Fall, no fracture", {"balance_issues": True}),
        ("Fracture of rib No. 5", {"fracture_history": True, "fresh_fractures": ["ribs"]}),  # a number, not a "no"
        # a prevention, a risk or the past is no condition now, but a drug taken for it is, and each clause
        # says it of what it names; a label that says it is back has no past
        ("DVT prophylaxis", {}),
        ("Previous pulmonary embolism", {}),
        ("Enoxaparin for DVT prophylaxis", {"anticoagulants": True}),
        ("At risk of bleeding on warfarin", {"anticoagulants": True}),
        ("History of DVT, on warfarin", {"anticoagulants": True}),
        ("History of deep vein thrombosis, recurrent", {"dvt": ["arms", "legs"]}),
        ("High fracture risk", {}),
        ("At increased risk for fracture", {}),
        ("Fracture prevention", {}),
        ("DVT with high risk of embolism", {"dvt": ["arms", "legs"]}),  # the risk is of what follows it
        ("Wrist fracture, high risk of falls",
         {"fracture_history": True, "fresh_fractures": ["wrists"], "balance_issues": True}),
        ("Negative for DVT", {}),
        ("Denies fever", {}),
        # a clause of "healed" or "ruled out" alone says it of the whole label; one with words of its own, of them
        ("DVT, ruled out", {}),
        ("History of appendectomy; DVT", {"dvt": ["arms", "legs"]}),
        # what is left of a fracture is fracture history; of anything else, no fracture
        ("Sequela of fracture of wrist", {"fracture_history": True}),
        ("Sequela of stroke", {}),
    ],
)  # fmt: skip
def test_a_label_naming_several_conditions_counts_each_and_a_negation_only_its_clause(
    kb: Knowledge, text: str, expected: dict[str, object]
) -> None:
    active = local_condition(text, onsetDateTime="2026-05-20")
    out = fhir.derive(bundle(active), CODES, kb)
    assert out.data == expected
    if expected:
        assert all("recognised by name" in line for line in out.used) and not out.unrecognised
    else:
        assert out.used == () and out.unrecognised == (f"Condition/c ({text})",)
    assert len(set(out.notes)) == len(out.notes)
    resolved = fhir.derive(bundle({**active, "clinicalStatus": {"coding": [{"code": "resolved"}]}}), CODES, kb)
    # resolved, all but the fracture (once had, stays had) and the diagnosis is set aside, each said once
    assert set(resolved.data) <= {"fracture_history", "fresh_fractures", "stage"}
    assert ("fracture_history" in resolved.data) == ("fracture_history" in expected)
    assert len(set(resolved.set_aside)) == len(resolved.set_aside)


@pytest.mark.parametrize(
    ("text", "fact", "placed"),
    [("Skin tear of forearm", "open_wounds", ["arms", "wrists"]), ("Abrasion of knee", "open_wounds", ["legs", "knees"]),
     ("Burn of hand", "open_wounds", ["hands"]), ("Venous leg ulcer", "open_wounds", ["legs"]),
     ("Diabetic foot ulcer", "open_wounds", ["feet"]), ("Surgical wound of hip, dehiscence", "open_wounds", ["hips"]),
     ("Penetrating wound of left eyeball", "open_wounds", ["head"]),
     ("Herpes zoster of trunk", "active_infections", ["ribs", "spine", "abdomen"]),
     ("Impetigo of face", "active_infections", ["head"]), ("Tinea pedis of foot", "active_infections", ["feet"])],
)  # fmt: skip
def test_broken_skin_and_a_skin_infection_are_known_by_their_words(
    kb: Knowledge, text: str, fact: str, placed: list[str]
) -> None:
    """The source's open wounds are broken skin of any kind, its active infections those of the skin too:
    read by their words, a skin tear, a leg ulcer, a burn or shingles counted for nothing."""
    out = fhir.derive(bundle(local_condition(text)), CODES, kb)
    assert out.data == {fact: placed}
    healed = fhir.derive(bundle(local_condition(f"{text}, healed")), CODES, kb)
    assert healed.data == {}  # the client's past, not a wound now
    assert fhir.derive(bundle(local_condition("Peptic ulcer")), CODES, kb).data == {}  # not of the skin


@pytest.mark.parametrize(
    ("text", "placed"),
    [("Fracture of olecranon", ["arms"]), ("Fracture of odontoid", ["neck", "spine"]), ("Fracture of C2", ["neck", "spine"]),
     ("Compression fracture T8", ["spine"]), ("Fracture T11-T12", ["spine"]), ("S1 fracture", ["pelvis"]),
     ("Fracture of talus", ["ankles", "feet"]), ("Fracture of navicular", ["wrists", "feet"]),
     ("Fracture of navicular bone of foot", ["feet"]), ("Fracture of tibial plateau", ["legs", "knees"]),
     ("Smith's fracture", ["wrists"]), ("Pott's fracture", ["ankles"]), ("Boxer's fracture", ["hands"]),
     ("Jones fracture", ["feet"]), ("Maisonneuve fracture", ["legs", "ankles"]),
     ("Fracture, T1 diabetes", SITES)],  # a "T1" that is no vertebra: placed nowhere, so everywhere
)  # fmt: skip
def test_a_fracture_named_by_its_bone_its_level_or_its_name_is_placed(
    kb: Knowledge, text: str, placed: list[str]
) -> None:
    """Placed nowhere, a fracture counts at every site: these bones', levels' and names' words were not read,
    so a fracture of the talus or of T12 left the whole body untreated."""
    out = fhir.derive(bundle(local_condition(text, onsetDateTime="2026-05-20")), CODES, kb)
    assert out.data == {"fracture_history": True, "fresh_fractures": list(placed)}


@pytest.mark.parametrize(
    ("text", "placed"),
    [("Laceration of left ear", ["head"]), ("Open wound of lip", ["head"]), ("Ocular laceration, right eye", ["head"]),
     ("Open wound of right breast", ["ribs"]), ("Laceration of vagina and vulva", ["pelvis"]),
     ("Skin ulcer of sole of foot", ["feet"]), ("Laceration of palm", ["hands"]), ("Abscess of axilla", ["arms"]),
     ("Cellulitis of groin", ["pelvis", "hips"]), ("Cellulitis of trunk", ["ribs", "spine", "abdomen"])],
)  # fmt: skip
def test_a_wound_or_infection_on_the_face_breast_genitals_palm_or_sole_is_placed(
    kb: Knowledge, text: str, placed: list[str]
) -> None:
    """Placed nowhere, a wound gave only a note to ask where: these regions' words were not read."""
    found = local_condition(text)
    out = fhir.derive(bundle(found), CODES, kb)
    fact = "open_wounds" if "wound" in text or "ulcer" in text or "laceration" in text.lower() else "active_infections"
    assert out.data == {fact: placed} and out.notes == (confirm(f"Condition/c ({text})"),)
    # the generated map places its own codes for such wounds the same way
    coded = mapped("conditions", kind="wound", display="Unspecified open wound of lip, initial encounter")
    assert fhir.derive(bundle({**found, "code": coded}), CODES, kb).data == {"open_wounds": ["head"]}
    # a "chest infection" is of the lungs: placed nowhere, it counts as an infection of the whole body
    assert fhir.derive(bundle({**found, "code": {"text": "Chest infection"}}), CODES, kb).data == {"fever": True}


def test_a_coded_concept_whose_own_text_names_more_counts_that_too_marked(kb: Knowledge) -> None:
    """A clinic may code "Fracture of femur" and write what the code leaves out: counted only by the code,
    cancer in the bone was lost. Only more: what the text names less of, or names as the code does, adds
    nothing, and the code's meaning stands."""
    femur = mapped("conditions", kind="fracture", sites=["legs"], stage="osteoporosis")
    written = {**local_condition("", onsetDateTime="2026-05-20"),
               "code": {**femur, "text": "Pathological fracture of femur due to bone metastases"}}  # fmt: skip
    out = fhir.derive(bundle(written), CODES, kb)
    assert out.data == {"stage": "osteoporosis", "fracture_history": True, "fresh_fractures": ["legs"],
                        "cancer_in_bone": ["legs"]}  # fmt: skip
    marked = [line for line in out.used if names.TEXT_MARK in line]
    assert marked == [f"Condition/c (Pathological fracture of femur due to bone metastases) ({names.TEXT_MARK}): "
                      "cancer_in_bone legs"]  # fmt: skip
    # and the therapist is asked to confirm it, in the record's notes (so the checklist, the letter, the cards)
    assert out.notes == ("Condition/c (Pathological fracture of femur due to bone metastases): its text names more "
                         "than its code, and that is counted too; confirm with the client",)  # fmt: skip
    # the same words as the code's, a fracture the code already places, less, or a milder stage: nothing more
    for text in ("fracture of the FEMUR", "Broken thigh bone", "History of fracture of femur", "Osteopenia"):
        plain = fhir.derive(bundle({**written, "code": {**femur, "text": text}}), CODES, kb)
        assert plain.data == {"stage": "osteoporosis", "fracture_history": True, "fresh_fractures": ["legs"]}, text
        assert not any(names.TEXT_MARK in line for line in plain.used) and not plain.notes, text
    # a place the code does not name, a stage more severe than the code's, a drug beside the code's
    hip = fhir.derive(bundle({**written, "code": {**femur, "text": "Fracture of hip"}}), CODES, kb)
    assert hip.data["fresh_fractures"] == ["hips", "legs"]
    osteopenia = mapped("conditions", stage="osteopenia")
    staged = fhir.derive(bundle({**written, "code": {**osteopenia, "text": "Osteoporosis"}}), CODES, kb)
    assert staged.data == {"stage": "osteoporosis"}
    clot = mapped("conditions", fact="dvt", sites=["legs"])
    ruled_out = fhir.derive(bundle({**written, "code": {**clot, "text": "DVT ruled out"}}), CODES, kb)
    assert ruled_out.data == {"dvt": ["legs"]}  # the code stands (a refuted one says so in its own status)
    request = {"resourceType": "MedicationRequest", "id": "m", "status": "active",
               "medicationCodeableConcept": {**WARFARIN, "text": "Warfarin 5 mg; prednisone 10 mg"}}  # fmt: skip
    drugs = fhir.derive(bundle(request), CODES, kb)
    assert drugs.data == {"anticoagulants": True, "corticosteroids": True}
    assert [line for line in drugs.used if names.TEXT_MARK in line] == [
        f"MedicationRequest/m (Warfarin 5 mg; prednisone 10 mg) ({names.TEXT_MARK}): corticosteroids"
    ]


def test_a_concept_coded_in_two_systems_counts_what_each_code_means(kb: Knowledge) -> None:
    """Clinics' exports often code a problem in SNOMED CT and ICD-10-CM at once. Only the first code the map
    knew counted: an ICD-10-CM code that stages osteoporosis beside a SNOMED CT fracture that stages
    nothing was lost, and beside an osteopenia diagnosis the plan was for osteopenia."""
    fracture = mapped("conditions", system="snomed", kind="fracture", sites=["legs"], stage=None)
    staged = mapped("conditions", system="icd10cm", kind="fracture", sites=["legs"], stage="osteoporosis")
    osteopenia = {**local_condition("Osteopenia", id="o"), "code": mapped("conditions", stage="osteopenia")}
    for first, then in ((fracture, staged), (staged, fracture)):
        both = {**local_condition("", onsetDateTime="2026-05-20"), "code": {"coding": first["coding"] + then["coding"]}}
        out = fhir.derive(bundle(osteopenia, both), CODES, kb)
        assert out.data == {"stage": "osteoporosis", "fracture_history": True, "fresh_fractures": ["legs"]}
        assert not any(names.MARK in line or names.TEXT_MARK in line for line in out.used)
    # what two codes both say is counted once
    twice = {**local_condition("", onsetDateTime="2026-05-20"), "code": {"coding": staged["coding"] * 2}}
    assert len(fhir.derive(bundle(twice), CODES, kb).used) == 2  # the stage, and the fracture


def test_a_body_site_coded_twice_places_the_condition_wherever_either_code_says(kb: Knowledge) -> None:
    """A body site's codings are meant to say the same place; where they do not, the first one's word
    alone left the other place treated as usual."""
    hip, spine = mapped("body_sites", site="hips"), mapped("body_sites", site="spine")
    clot = {**local_condition(""), "code": mapped("conditions", fact="dvt", sites=["legs"])}
    for first, then in ((hip, spine), (spine, hip)):
        placed = {**clot, "bodySite": [{"coding": first["coding"] + then["coding"]}]}
        assert fhir.derive(bundle(placed), CODES, kb).data == {"dvt": ["spine", "hips", "legs"]}


def test_a_procedure_coded_in_two_systems_is_placed_wherever_either_code_says(kb: Knowledge, tmp_path: Path) -> None:
    """As a condition's: the first known code alone left the place the other code names treated as usual.
    The shipped map's operations are all at the hips, so a clinic's own code, added to a copy, names another."""
    (tmp_path / "fhir_codes.json").write_bytes((ROOT / "data" / "fhir_codes.json").read_bytes())
    shipped = (ROOT / "data" / "fhir_codes.yaml").read_text(encoding="utf-8")
    own = "procedures:\n  - {system: clinic, code: K-1, display: Knee replacement, kind: surgery, site: knees, reference: r}\n"
    (tmp_path / "fhir_codes.yaml").write_text(
        shipped.replace("systems:\n", f"systems:\n  clinic: {LOCAL}\n", 1) + own, "utf-8"
    )
    codes = fhir.load_code_map(tmp_path / "fhir_codes.yaml")
    hip = mapped("procedures", site="hips")["coding"]
    knee = [{"system": LOCAL, "code": "K-1"}]
    for coded in (hip + knee, knee + hip):
        operation = {"resourceType": "Procedure", "status": "completed", "performedDateTime": "2026-05-01",
                     "code": {"coding": coded}}  # fmt: skip
        assert fhir.derive(bundle(operation), codes, kb).data == {"post_surgical": ["hips", "knees"]}


def test_every_drug_the_map_knows_is_known_by_its_words_too() -> None:
    """A drug coded with a local code is read by its words: they must name every drug, and every class, the
    map's value sets list (desirudin, eptifibatide, tirofiban and "Glucocorticoids" were missed)."""
    for section, read in (("medications", names.medication), ("conditions", lambda w: names.condition(w, ("legs",)))):
        for entry in CODES.entries(section):
            if entry.get("fact") in ("anticoagulants", "corticosteroids"):
                found = read(entry["display"])
                facts = {m.get("fact") for m in ([found, *found.get("also", ())] if found else [])}
                assert entry["fact"] in facts, (section, entry["display"])


def test_every_condition_the_map_knows_is_known_by_its_words_too() -> None:
    """The same words under a local code must not give a quieter plan than under the map's code. Left out:
    "Other specified disorders of bone (density and structure)", osteopenia in the map's value set, words
    that name no stage, where a milder stage than the assumed osteoporosis would loosen the plan."""

    def meanings(entry: dict[str, Any] | None) -> set[tuple[str, object]]:
        parts = [entry, *entry.get("also", ())] if entry else []
        return {(key, part[key]) for part in parts for key in ("kind", "fact", "stage") if key in part}

    sites = ("legs",)
    missed = []
    for entry in CODES.entries("conditions"):
        if entry["display"].startswith("Other specified disorders of bone"):
            continue
        read = meanings(names.condition(entry["display"], sites))
        lost = meanings(entry) - read - ({("fact", "fracture_history")} if ("kind", "fracture") in read else set())
        if lost:
            missed.append((entry["display"], lost))
    assert missed == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Long term (current) use of anticoagulants", {"anticoagulants": True}),
     ("On blood thinners", {"anticoagulants": True}),
     ("Long-term current use of systemic steroids", {"corticosteroids": True}),
     ("Long-term use of inhaled corticosteroids", {}),
     ("History of anticoagulant use", {}),
     # a drug the label says is not taken: an allergy to it, or stopped; in another clause, one taken
     ("Allergy to aspirin", {}), ("Intolerance to prednisone", {}), ("Warfarin discontinued", {}),
     ("Aspirin allergy, takes apixaban", {"anticoagulants": True}), ("Allergy to penicillin; on warfarin", {"anticoagulants": True}),
     ("Warfarin poisoning", {"anticoagulants": True}), ("Adverse effect of anticoagulants", {"anticoagulants": True}),
     ("Off-label use of prednisone", {"corticosteroids": True}), ("Anticoagulation held for surgery", {"anticoagulants": True})],
)  # fmt: skip
def test_a_problem_list_naming_a_blood_thinner_or_a_steroid_counts_it(
    kb: Knowledge, text: str, expected: dict[str, object]
) -> None:
    """As the map reads ICD-10-CM Z79.01 and Z79.52, a condition in words that says the client takes one."""
    found = local_condition(text)
    assert fhir.derive(bundle(found), CODES, kb).data == expected


def test_the_date_a_record_is_judged_at_can_be_given(kb: Knowledge) -> None:
    fracture = {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
                "onsetDateTime": "2026-05-20", "code": {"text": "Fracture of neck of femur"}}  # fmt: skip
    assert fhir.derive(bundle(fracture), CODES, kb).as_of == "2026-06-01 (the bundle's timestamp)"
    later = fhir.derive(bundle(fracture), CODES, kb, dt.date(2027, 1, 1))
    assert later.as_of == "2027-01-01 (given)" and "fresh_fractures" not in later.data
    # a timestamp after today (a wrong clock) would age every fracture: today is the day instead
    recent = {**fracture, "onsetDateTime": (dt.date.today() - dt.timedelta(days=10)).isoformat()}
    ahead = fhir.derive(bundle(recent, timestamp="2999-01-01T00:00:00Z"), CODES, kb)
    today = dt.date.today().isoformat()
    assert ahead.as_of == f"{today} (today: the bundle's timestamp, 2999-01-01, is later than today)"
    assert ahead.data["fresh_fractures"] == ["hips"]
    result = CliRunner().invoke(app, ["plan", "--fhir", str(MIGUEL), "--as-of", "2019-01-01", "-f", "json"])
    assert json.loads(result.stdout)["record"]["as_of"] == "2019-01-01 (given)"
    bad = CliRunner().invoke(app, ["plan", "--fhir", str(MIGUEL), "--as-of", "soon"])
    assert bad.exit_code == 2 and "not a date" in bad.stderr


def test_a_fracture_resolved_within_weeks_still_counts_as_unhealed(kb: Knowledge) -> None:
    resolved = {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "resolved"}]},
                "onsetDateTime": "2026-05-10", "code": {"text": "Fracture of neck of femur"}}  # fmt: skip
    assert fhir.derive(bundle(resolved), CODES, kb).data == {"fracture_history": True, "fresh_fractures": ["hips"]}
    old = {**resolved, "onsetDateTime": "2025-01-10"}
    assert fhir.derive(bundle(old), CODES, kb).data == {"fracture_history": True}
    during = {k: v for k, v in resolved.items() if k != "onsetDateTime"}  # R4's other form of a dated onset
    for period, fresh in [({"start": "2026-05-10"}, True), ({"start": "2024-12-01", "end": "2026-05-10"}, True),
                          ({"start": "2024-12-01", "end": "2025-01-10"}, False)]:  # fmt: skip
        found = fhir.derive(bundle({**during, "onsetPeriod": period}), CODES, kb).data
        assert ("fresh_fractures" in found) == fresh, period


def test_a_resource_without_an_id_is_named_plainly(kb: Knowledge) -> None:
    bare = {"resourceType": "MedicationStatement", "status": "completed", "medicationCodeableConcept": WARFARIN}
    (said,) = fhir.derive(bundle(bare), CODES, kb).set_aside
    assert said.startswith("MedicationStatement (no id) (") and said.endswith("): status completed")
    ann = {"resourceType": "Patient", "name": [{"text": "Ann"}], "deceasedBoolean": True}
    out = fhir.derive(bundle(ann, {**bare, "status": "active"}), CODES, kb)  # the one patient, though unnamed by id
    assert out.data == {"name": "Ann", "anticoagulants": True} and not out.set_aside
    assert out.used[0] == "Patient (no id): name and id"
    assert out.notes == ("Patient (no id): the record says this patient has died",)


@pytest.mark.parametrize(
    ("written", "said"),
    [({"active": False}, "not in active use (Patient.active false)"),
     ({"link": [{"other": {"reference": "Patient/new"}, "type": "replaced-by"}]}, "is replaced by another, which must be used instead"),
     ({"link": [{"other": {"reference": "Patient/more"}, "type": "refer"}]}, "refers to another for more of the client's information"),
     ({"active": True, "link": [{"other": {"reference": "Patient/old"}, "type": "replaces"}]}, None)],
)  # fmt: skip
def test_a_patient_record_that_says_the_client_s_information_is_elsewhere_is_said(
    kb: Knowledge, written: dict[str, Any], said: str | None
) -> None:
    """R4: Patient.active is a modifier, and a merge of duplicate records links the old to the one in use."""
    out = fhir.derive(bundle({"resourceType": "Patient", "id": "p"} | written, TAKES_WARFARIN), CODES, kb)
    assert out.data == {"id": "p", "anticoagulants": True}
    if said is None:
        assert out.notes == ()
    else:
        assert len(out.notes) == 1 and said in out.notes[0] and out.notes[0].startswith("Patient/p: ")
        assert out.notes[0].endswith("; the plan may lack what is recorded there: check the record")


def test_hl7_s_own_dxa_t_score_examples_are_read(kb: Knowledge) -> None:
    """HL7 US Core (R4) examples, unchanged: the sided hip and femur T-scores; the lowest is used."""
    folder = REAL / "hl7-us-core"
    observations = [json.loads((folder / name).read_text(encoding="utf-8")) for name in (
        "Observation-dxa-hip-l-t-score-bmd.json", "Observation-dxa-femur-l-t-score-bmd.json")]  # fmt: skip
    patient = {"resourceType": "Patient", "id": "example", "name": [{"text": "Amy Shaw"}]}
    out = fhir.derive(bundle(patient, *observations), CODES, kb)
    assert out.data == {"name": "Amy Shaw", "id": "example", "t_score": -1.62}
    assert any("DXA Hip-L T-score BMD" in u and "lowest of several" in u for u in out.used)
    assert out.unrecognised == ()


def test_a_bundle_held_in_the_record_is_read_as_part_of_it(kb: Knowledge) -> None:
    """A collection of saved search results: the fracture and the drug inside were one resource 'not
    recognised'. A held search that is one page, or Bundles held without end, are refused."""
    patient = {"resourceType": "Patient", "id": "p"}
    drug = {"resourceType": "MedicationStatement", "id": "m", "status": "active", "subject": {"reference": "Patient/p"},
            "medicationCodeableConcept": WARFARIN}  # fmt: skip
    search = {"resourceType": "Bundle", "id": "s", "type": "searchset",
              "entry": [{"resource": drug, "search": {"mode": "match"}}]}  # fmt: skip
    out = fhir.derive(bundle(patient, search), CODES, kb)
    assert out.data == {"id": "p", "anticoagulants": True} and out.unrecognised == ()
    paged = {**search, "link": [{"relation": "next", "url": "https://ehr.example/fhir/x?page=2"}]}
    with pytest.raises(ProfileError, match=r"a Bundle held in the record \(Bundle/s\): the Bundle is one page"):
        fhir.derive(bundle(patient, paged), CODES, kb)
    deep: dict[str, Any] = search
    for n in range(4):
        deep = {"resourceType": "Bundle", "id": f"d{n}", "type": "collection", "entry": [{"resource": deep}]}
    with pytest.raises(ProfileError, match="held more than 3 deep"):
        fhir.derive(bundle(patient, deep), CODES, kb)


JUDGED = dt.date(2026, 6, 1)  # the day `bundle` stamps


def _t_score(value: object, measured: object) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": "t", "status": "final", "code": mapped("observations"),
            "valueQuantity": {"value": value}} | ({} if measured is None else {"effectiveDateTime": measured})  # fmt: skip


def _days_before(days: int) -> str:
    return (JUDGED - dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("value", "measured", "counted"),
    [
        (-2.2, _days_before(365), True),  # advanced osteopenia: about a year
        (-2.2, _days_before(366), False),
        (-2.0, _days_before(366), False),
        (-1.8, _days_before(1826), True),  # moderate: about 5 years
        (-1.5, _days_before(1827), False),
        (-1.49, _days_before(1827), True),  # mild, or normal: about 15 years
        (-1.2, _days_before(5479), False),
        (0.5, "2005-01-01", False),
        (-2.7, "1990-01-01", True),  # in the osteoporosis range: counted however old
        (-1.2, None, False),  # no date: not known to be current
        (-2.2, "2025", False),  # a year only: judged from its first day
        (-2.2, "2025-07", True),
        (-1.2, _days_before(-1), True),  # a day ahead: written in its own time zone
        (-1.2, _days_before(-2), False),  # after the record's day: a mistyped year is not current
        (-1.2, "2062-05-01", False),
        (-2.7, "2062-05-01", True),
    ],
)
def test_a_t_score_above_the_osteoporosis_range_counts_only_while_current(
    kb: Knowledge, value: float, measured: str | None, counted: bool
) -> None:
    """Bone is lost with the years (the map's `t_score_current`, from Gourlay et al. 2012): an old
    osteopenic reading must not make the plan milder than no reading at all."""
    out = fhir.derive(bundle(_t_score(value, measured)), CODES, kb)
    assert (out.data.get("t_score") == value) is counted
    if not counted:
        assert len(out.set_aside) == 1 and f"T-score {value:g}, " in out.set_aside[0]
        ahead = measured is not None and measured > JUDGED.isoformat()
        assert out.set_aside[0].endswith(
            ", after the day the record is judged at (2026-06-01)" if ahead else ": not current"
        )
        told = (
            ("so not known to be current and not counted; check its date",)
            if ahead
            else ("so not counted", "ask for a newer DXA result")
        )
        assert any(all(t in n for t in told) for n in out.notes), out.notes
        plan = api.plan(bundle=bundle(_t_score(value, measured)), knowledge=kb, as_of=JUDGED)
        assert plan["stage"] == "osteoporosis"  # as with no reading: assumed, never milder


@pytest.mark.parametrize(
    ("session", "counted"), [(None, True), (JUDGED, True), (JUDGED + dt.timedelta(days=60), False)]
)
def test_a_t_score_must_still_be_current_on_the_session_s_day(
    kb: Knowledge, session: dt.date | None, counted: bool
) -> None:
    """An appointment booked weeks ahead: a reading current today may not be on the day. Only a later day
    changes anything, and only what must be current (what is recent is judged today, the stricter)."""
    measured = _days_before(335)  # within the year its band (-2.2) is current for, today; not in 60 days
    out = fhir.derive(bundle(_t_score(-2.2, measured)), CODES, kb, session=session)
    assert (out.data.get("t_score") == -2.2) is counted
    later = session is not None and session > JUDGED
    assert out.as_of == "2026-06-01 (the bundle's timestamp)" + (
        "; a DXA T-score must still be current on the session's day, 2026-07-31" if later else ""
    )
    if not counted:
        assert len(out.set_aside) == 1 and out.set_aside[0].startswith("Observation/t (")
        assert out.set_aside[0].endswith(
            f"T-score -2.2, measured {measured}: not current on the session's day, 2026-07-31"
        )
        assert "and the session is on 2026-07-31; ask for a newer DXA result" in out.notes[0]
    plan = api.plan(bundle=bundle(_t_score(-2.2, measured)), knowledge=kb, session=session)
    assert plan["stage"] == ("osteoporosis" if not counted else "osteopenia")  # assumed, as with no reading


def test_the_command_line_plans_for_a_session_s_day_as_the_api_does(tmp_path: Path) -> None:
    """`--session`: a therapist planning next month's session from a record gets the service's reading."""
    written = bundle(_t_score(-2.2, _days_before(335)))
    record = tmp_path / "record.json"
    record.write_text(json.dumps(written), encoding="utf-8")
    for session, stage in (("2026-06-08", "osteopenia"), ("2026-07-31", "osteoporosis")):
        plan = plan_json("--fhir", str(record), "--session", session)
        assert plan["stage"] == stage and plan["record"]["as_of"].endswith(f"on the session's day, {session}")
        assert plan["record"]["session"] == session
        same = api.plan(bundle=written, session=session)
        assert plan == same | {"record": same["record"] | {"file": str(record)}}
    said = CliRunner().invoke(app, ["plan", "--fhir", str(record), "--session", "soon"])
    assert said.exit_code == 2 and said.stderr == "osteocheck: --session 'soon': not a date; give it as YYYY-MM-DD\n"
    said = CliRunner().invoke(app, ["plan", "--fhir", str(record), "--as-of", "2026-08-01", "--session", "2026-07-31"])
    assert said.exit_code == 2 and said.stderr.startswith(
        "osteocheck: the session's day, 2026-07-31, is before the day"
    )
    with pytest.raises(ProfileError, match="the session's day, 2026-07-31, is before the day to judge the record at"):
        api.plan(bundle=written, as_of="2026-08-01", session="2026-07-31")


def test_a_session_before_the_day_the_record_is_judged_at_is_refused(tmp_path: Path) -> None:
    """Judged at the record's timestamp or today, a fracture still fresh on an earlier session's day could
    read as healed: refused as a session before `--as-of` is, saying which day the record is judged at."""
    record = tmp_path / "record.json"
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    for stamped, session, basis in (
        ("2026-06-01T00:00:00Z", "2026-03-03", "2026-06-01 (the bundle's timestamp)"),
        (None, yesterday, f"{dt.date.today()} (today: the record has no timestamp)"),
    ):
        written = bundle(_t_score(-2.2, (dt.date.fromisoformat(session) - dt.timedelta(days=30)).isoformat()))
        if stamped is None:
            del written["timestamp"]
        record.write_text(json.dumps(written), encoding="utf-8")
        said = CliRunner().invoke(app, ["plan", "--fhir", str(record), "--session", session])
        assert said.exit_code == 2 and said.stdout == "", said.output
        assert said.stderr == (
            f"osteocheck: the session's day, {session}, is before the day to judge the record at, {basis}: judge "
            "it at the session's day, or before it\n"
        )
        with pytest.raises(ProfileError, match=f"the session's day, {session}, is before the day to judge"):
            api.plan(bundle=written, session=session)
        assert plan_json("--fhir", str(record), "--session", session, "--as-of", session)["stage"] == "osteopenia"


def test_a_later_session_is_put_off_as_the_record_stands_today_in_every_view(tmp_path: Path) -> None:
    """A clot in the record postpones massage; planned for next month, the views say the reason is today's."""
    clot = {"resourceType": "Condition", "id": "dvt", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": mapped("conditions", fact="dvt")}  # fmt: skip
    record = tmp_path / "record.json"
    record.write_text(json.dumps(bundle(clot)), encoding="utf-8")
    later = "As the record stands today, postpone the session of 2026-07-31: "
    for view, head in ((["plan"], later), (["plan", "--format", "markdown"], f"**{later.rstrip(' ')}**"),
                       (["letter", "--format", "markdown"], "Not on 2026-07-31, as the record stands today: the session is postponed.")):  # fmt: skip
        for session, says in (("2026-07-31", head), (None, "Not today: " if view[0] == "letter" else "Postpone today")):
            extra = ["--session", session] if session else []
            result = CliRunner().invoke(app, [*view, "--fhir", str(record), *extra])
            assert result.exit_code == 0 and says.replace("**", "") in result.stdout.replace("**", ""), result.stdout
            assert (session is None) is ("as the record stands today" not in result.stdout.lower())


@pytest.mark.parametrize("flag", ["--patient", "--as-of", "--session"])
def test_what_is_said_of_a_record_without_one_is_refused_not_ignored(flag: str) -> None:
    """Given no record, the flag would change nothing, and the therapist would believe it had."""
    said = CliRunner().invoke(app, ["plan", "--kyphosis", flag, "2026-07-31"])
    assert said.exit_code == 2 and said.stdout == ""
    assert (
        said.stderr == f"osteocheck: {flag} applies to a --fhir record only: give --fhir BUNDLE, or leave {flag} out\n"
    )
    said = CliRunner().invoke(
        app, ["batch", str(ROOT / "examples" / "profiles" / "roster.jsonl"), "--as-of", "2026-07-31"]
    )
    assert said.exit_code == 2 and said.stderr == "osteocheck: --as-of applies to --fhir-ndjson DIR (an export) only\n"


def test_a_session_s_day_that_is_not_a_date_is_an_error(kb: Knowledge) -> None:
    written = bundle(_t_score(-2.2, _days_before(30)))
    with pytest.raises(ProfileError, match=r"^session '31/07/2026': not a date; give it as YYYY-MM-DD"):
        api.plan(bundle=written, knowledge=kb, session="31/07/2026")
    with pytest.raises(ProfileError, match=r"^as_of '31/07/2026': not a date"):  # the API's name, not the flag's
        api.plan(bundle=written, knowledge=kb, as_of="31/07/2026")
    for name in ("as_of", "session"):
        with pytest.raises(ProfileError, match=f"^{name} must be a date, or its text YYYY-MM-DD, not int$"):
            api.plan(bundle=written, knowledge=kb, **{name: 20260731})  # type: ignore[arg-type]


def test_a_datetime_given_to_the_api_is_its_day(kb: Knowledge) -> None:
    """Python's datetime is a date, but compares with none: the API takes its day, as it takes a date's."""
    written = bundle(_t_score(-2.2, _days_before(335)))
    at = dt.datetime(2026, 7, 31, 9, 30, tzinfo=dt.UTC)
    assert api.plan(bundle=written, knowledge=kb, session=at) == api.plan(
        bundle=written, knowledge=kb, session=at.date()
    )
    assert api.plan(bundle=written, knowledge=kb, as_of=at) == api.plan(
        bundle=written, knowledge=kb, as_of="2026-07-31"
    )


def test_a_label_read_by_name_is_kept_and_never_changed_by_the_records_that_share_it(kb: Knowledge) -> None:
    """The readings of a label are kept across records (names.py): a record that shares a label gets the
    same reading, and what one record makes of it never reaches the next."""
    label = "Closed fracture of left clavicle sustained in a fall"
    fracture = {"resourceType": "Condition", "id": "c1", "code": {"text": label},
                "clinicalStatus": {"coding": [{"code": "active"}]}}  # fmt: skip
    first = fhir.derive(bundle(fracture), CODES, kb)
    kept = names.condition(label, kb.site_ids)
    assert kept is not None and kept["sites"] == ("shoulders",)
    before = json.dumps(kept, sort_keys=True)
    second = fhir.derive(bundle({**fracture, "id": "c2", "bodySite": [{"text": "wrists"}]}), CODES, kb)
    assert names.condition(label, kb.site_ids) is kept and json.dumps(kept, sort_keys=True) == before
    # the fall it names is a fall, as the map reads a fall's own code
    assert first.data == {"fracture_history": True, "fresh_fractures": ["shoulders"], "balance_issues": True}
    assert second.data == {"fracture_history": True, "fresh_fractures": ["shoulders", "wrists"], "balance_issues": True}


SCAN = {"resourceType": "Observation", "id": "o", "code": mapped("observations", t_score=True)}
# a coded diagnosis: one named only in words may not make the plan milder (the next test)
OSTEOPENIA = {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
              "code": {**mapped("conditions", stage="osteopenia"), "text": "Osteopenia"}}  # fmt: skip


def test_a_milder_stage_named_only_in_words_is_not_counted_and_said(kb: Knowledge) -> None:
    """ "Osteopenia" under a clinic's own code planned the client for osteopenia, milder than the osteoporosis
    assumed with no stage, on words alone; a T-score named only by its words was already held to
    osteoporosis at least. Now the diagnosis is set aside, said, and the therapist may give the stage."""
    out = fhir.derive(bundle(local_condition("Osteopenia")), CODES, kb)
    shown = f"Condition/c (Osteopenia) ({names.MARK})"
    assert out.data == {} and not out.used and out.set_aside == (f"{shown}: stage osteopenia, named by its words only",)
    assert out.notes == (f"{shown}: osteopenia named by its words only, so not counted: the plan assumes osteoporosis, "
                         "as with no stage, until a coded, confirmed diagnosis or a DXA T-score shows osteopenia; confirm it and "
                         "give the stage",)  # fmt: skip
    # what else its words name still counts, as does a stage no milder, and a coded diagnosis
    wrist = fhir.derive(
        bundle(local_condition("Osteopenia with fracture of wrist", onsetDateTime="2026-05-20")), CODES, kb
    )
    assert wrist.data == {"fracture_history": True, "fresh_fractures": ["wrists"]}
    assert fhir.derive(bundle(local_condition("Osteoporosis")), CODES, kb).data == {"stage": "osteoporosis"}
    assert fhir.derive(bundle(OSTEOPENIA), CODES, kb).data == {"stage": "osteopenia"}
    # nor does the text of a coded concept that stages nothing make it milder
    fracture = {**local_condition("", onsetDateTime="2026-05-20"),
                "code": {**mapped("conditions", kind="fracture", sites=["legs"], stage=None), "text": "Osteopenia"}}  # fmt: skip
    assert fhir.derive(bundle(fracture), CODES, kb).data == {"fracture_history": True, "fresh_fractures": ["legs"]}
    assert api.plan(bundle=bundle(local_condition("Osteopenia")))["stage"] == "osteoporosis"


@pytest.mark.parametrize("verified", ["unconfirmed", "provisional", "differential"])
def test_a_diagnosis_not_confirmed_counts_says_so_and_never_makes_the_plan_milder(kb: Knowledge, verified: str) -> None:
    """A suspected fracture is treated as one, and the therapist told it is only suspected; an osteopenia
    not confirmed is held to the osteoporosis assumed with no stage, as one named only in words is."""
    status = {"verificationStatus": {"coding": [{"code": verified}]}}
    fracture = {**local_condition("", onsetDateTime="2026-05-20"), **status,
                "code": mapped("conditions", kind="fracture", sites=["legs"], stage=None)}  # fmt: skip
    out = fhir.derive(bundle(fracture), CODES, kb)
    assert out.data == {"fracture_history": True, "fresh_fractures": ["legs"]}
    assert [n for n in out.notes if f"verification status {verified}, short of confirmed" in n] == [out.notes[0]]
    doubted = fhir.derive(bundle({**OSTEOPENIA, **status}), CODES, kb)
    assert doubted.data == {} and "not confirmed (its verification status), so not counted" in doubted.notes[-1]
    assert fhir.derive(
        bundle({**OSTEOPENIA, "verificationStatus": {"coding": [{"code": "confirmed"}]}}), CODES, kb
    ).data == {"stage": "osteopenia"}


def test_an_event_dated_after_the_record_s_day_counts_as_recent_and_says_so(kb: Knowledge) -> None:
    """A mistyped year puts a fracture, an operation or a dispense in the future: counted as recent, the
    stricter reading, and said, since the therapist may know the date."""
    fracture = {**local_condition("", onsetDateTime="2027-05-20"),
                "code": mapped("conditions", kind="fracture", sites=["legs"], stage=None)}  # fmt: skip
    hip = {"resourceType": "Procedure", "id": "h", "status": "completed", "performedDateTime": "2027-05-01",
           "code": mapped("procedures", site="hips")}  # fmt: skip
    thinner = {"resourceType": "MedicationDispense", "id": "d", "status": "completed",
               "whenHandedOver": "2027-04-01", "medicationCodeableConcept": mapped("medications", fact="anticoagulants")}  # fmt: skip
    out = fhir.derive(bundle(fracture, hip, thinner), CODES, kb)
    assert out.data == {"fracture_history": True, "fresh_fractures": ["legs"], "post_surgical": ["hips"],
                        "anticoagulants": True}  # fmt: skip
    later = [n for n in out.notes if "after the day the record is judged at, so counted as recent" in n]
    assert [n.split(": dated ")[1][:10] for n in later] == ["2027-05-20", "2027-05-01", "2027-04-01"]
    assert not fhir.derive(bundle({**thinner, "whenHandedOver": "2026-05-01"}), CODES, kb).notes  # in the past: none


@pytest.mark.parametrize(
    ("value", "read"),
    [({"valueQuantity": {"value": -2.7}}, -2.7), ({"valueQuantity": {"value": "-2.7"}}, -2.7),
     ({"valueString": "\u22122.7"}, -2.7), ({"valueInteger": -3}, -3.0),
     ({"valueQuantity": {"value": -2.6, "comparator": ">="}}, -2.6)],
)  # fmt: skip
def test_a_final_t_score_is_read_however_the_record_writes_its_number(
    kb: Knowledge, value: dict[str, Any], read: float
) -> None:
    out = fhir.derive(bundle(OSTEOPENIA, SCAN | {"status": "final"} | value), CODES, kb)
    assert out.data == {"t_score": read} and not out.notes  # osteoporosis by the T-score, over the diagnosis


@pytest.mark.parametrize(
    "value",
    [{}, {"valueQuantity": {"value": "nan"}}, {"valueQuantity": {"value": -11}}, {"valueString": "low"},
     {"component": [{"code": {"text": "T-score"}, "valueQuantity": {"value": -2.7}}]},
     {"valueQuantity": {"value": -1.0, "comparator": "<"}}, {"valueQuantity": {"value": -2.0, "comparator": "<="}}],
)  # fmt: skip
def test_a_final_t_score_that_cannot_be_read_counts_as_osteoporosis(kb: Knowledge, value: dict[str, Any]) -> None:
    """Fail closed: an unreadable value might be in the osteoporosis range; a milder diagnosis beside it
    must not decide the plan alone."""
    out = fhir.derive(bundle(OSTEOPENIA, SCAN | {"status": "final"} | value), CODES, kb)
    assert out.data == {"stage": "osteoporosis"} and "check the DXA report" in out.notes[0]


def test_a_t_score_under_a_local_code_counts_by_its_words_only_towards_osteoporosis(kb: Knowledge) -> None:
    """A clinic's own code for a DXA result the map cannot know: in the osteoporosis range, its words must
    not leave the plan on the milder diagnosis beside it; above it, words alone never make a plan milder."""

    def reading(value: float, words: str = "DXA T-score lumbar spine", status: str = "final") -> dict[str, Any]:
        return {"resourceType": "Observation", "id": "o", "status": status, "effectiveDateTime": _days_before(30),
                "code": {"coding": [{"system": LOCAL, "code": "DXA1"}], "text": words}, "valueQuantity": {"value": value}}  # fmt: skip

    low = fhir.derive(bundle(OSTEOPENIA, reading(-3.0)), CODES, kb)
    assert low.data == {"stage": "osteoporosis"} and not low.unrecognised
    assert low.used[-1] == ("Observation/o (DXA T-score lumbar spine) (recognised by name: confirm with the client): "
                            "T-score -3: stage osteoporosis at least")  # fmt: skip
    assert "named by its words only" in low.notes[-1] and low.notes[-1].endswith("check the DXA report")
    for milder in (reading(-1.8), reading(-3.0, "DXA Z-score lumbar spine"), reading(-3.0, status="entered-in-error")):
        out = fhir.derive(bundle(OSTEOPENIA, milder), CODES, kb)
        assert out.data == {"stage": "osteopenia"} and out.unrecognised == (
            f"Observation/o ({milder['code']['text']})",
        )
    panel = {"resourceType": "Observation", "id": "dxa", "status": "final", "code": {"text": "DXA report"},
             "component": [{"code": {"text": "T-score femoral neck"}, "valueQuantity": {"value": -2.7}}]}  # fmt: skip
    assert fhir.derive(bundle(OSTEOPENIA, panel), CODES, kb).data == {"stage": "osteoporosis"}


def test_a_t_score_given_as_a_component_of_a_dxa_panel_is_read(kb: Knowledge) -> None:
    """R4 lets a DXA report be one Observation whose components hold its readings. Unread, the panel's
    osteoporosis-range T-score would leave the plan on the milder diagnosis beside it."""
    panel = {"resourceType": "Observation", "id": "dxa", "status": "final", "code": {"text": "DXA panel"},
             "effectiveDateTime": _days_before(30),
             "component": [{"code": {"text": "Blood pressure"}, "valueQuantity": {"value": 120}},
                           {"code": mapped("observations", t_score=True), "valueQuantity": {"value": -2.1}},
                           {"code": mapped("observations", t_score=True), "valueQuantity": {"value": -2.8}}]}  # fmt: skip
    out = fhir.derive(bundle(OSTEOPENIA, panel), CODES, kb)
    assert out.data == {"t_score": -2.8} and not out.unrecognised and not out.notes
    assert out.used[-1].startswith("Observation/dxa (") and out.used[-1].endswith(", a component: T-score -2.8 (the lowest of several)")  # fmt: skip
    assert dict(out.evidence)["t_score"] == ("Observation/dxa",)
    found_twice = panel | {"component": panel["component"][:2]}  # by the service's two searches, say
    assert fhir.derive(bundle(found_twice, found_twice), CODES, kb).used[-1].endswith(", a component: T-score -2.1")
    old = fhir.derive(bundle(panel | {"effectiveDateTime": _days_before(800), "component": panel["component"][:2]}), CODES, kb)  # fmt: skip
    assert old.data == {} and "a component: T-score -2.1 measured" in old.notes[0]  # the panel's date: not current
    unread = panel | {"component": [{"code": mapped("observations", t_score=True), "dataAbsentReason": {"text": "?"}}]}
    assert fhir.derive(bundle(OSTEOPENIA, unread), CODES, kb).data == {"stage": "osteoporosis"}
    pending = panel | {"status": "registered", "component": panel["component"][:2]}
    assert fhir.derive(bundle(pending), CODES, kb).set_aside[0].endswith(", a component: status registered, value -2.1")
    others = [{"code": {"text": "Blood pressure"}}, "x", {"code": None}]
    assert fhir.derive(bundle(panel | {"component": others}), CODES, kb).unrecognised == (
        "Observation/dxa (DXA panel)",
    )
    assert fhir.derive(bundle(panel | {"component": "x"}), CODES, kb).unrecognised == ("Observation/dxa (DXA panel)",)


def test_a_t_score_not_final_counts_only_as_far_as_it_makes_the_plan_stricter(kb: Knowledge) -> None:
    """Counted outright, a T-score of unknown status, or a preliminary one ("data may be incomplete or
    unverified", R4), could make the stage milder than the one assumed."""
    for status in ({}, {"status": "unknown"}, {"status": "registered"}, {"status": "preliminary"}):
        low = fhir.derive(bundle(OSTEOPENIA, SCAN | status | {"valueQuantity": {"value": -3.0}}), CODES, kb)
        assert low.data == {"stage": "osteoporosis"} and "only as far as it makes the plan stricter" in low.notes[0]
        mild = fhir.derive(bundle(SCAN | status | {"valueQuantity": {"value": -1.5}}), CODES, kb)
        assert mild.data == {} and mild.set_aside[0].endswith(
            f": status {status.get('status', 'not recorded')}, value -1.5"
        )
    void = fhir.derive(
        bundle(OSTEOPENIA, SCAN | {"status": "entered-in-error", "valueQuantity": {"value": -3.0}}), CODES, kb
    )
    assert void.data == {"stage": "osteopenia"} and void.set_aside[0].endswith(": status entered-in-error, value -3.0")


@pytest.mark.parametrize("system", ["icd10cm", "icd10"])
def test_an_icd_10_code_without_its_dot_or_in_lower_case_is_read(kb: Knowledge, system: str) -> None:
    listed = next(e for e in CODES.entries("conditions") if e["system"] == system and "." in e["code"])
    written = fhir.derive(bundle(_coded_condition(system, listed["code"])), CODES, kb).data
    assert written  # the map's own form
    for sent in (listed["code"].replace(".", ""), listed["code"].lower(), f" {listed['code']} "):
        assert fhir.derive(bundle(_coded_condition(system, sent)), CODES, kb).data == written, sent


def _coded_condition(system: str, code: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
            "onsetDateTime": "2026-05-20", "code": {"coding": [{"system": CODES.systems[system], "code": code}]}}  # fmt: skip


@pytest.mark.parametrize(
    ("written", "recent"), [("2026-05", True), ("2026", True), ("2025-12", False), ("2025", False)]
)
@pytest.mark.parametrize("kind", ["Condition", "Procedure", "MedicationDispense"])
def test_a_date_given_as_a_month_or_a_year_is_judged_by_its_last_day(
    kb: Knowledge, kind: str, written: str, recent: bool
) -> None:
    """FHIR allows "2026-05" or "2026" for a date; read as no date at all, a fracture resolved this month
    was history only. Judged at 2026-06-01 (the bundle's timestamp) against 90-day windows."""
    field, counted = {
        "Condition": ("onsetDateTime", {"fracture_history": True, "fresh_fractures": ["hips"]}),
        "Procedure": ("performedDateTime", {"post_surgical": ["hips"]}),
        "MedicationDispense": ("whenHandedOver", {"anticoagulants": True}),
    }[kind]
    resource = (
        {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "resolved"}]},
         "code": {"text": "Fracture of neck of femur"}}
        if kind == "Condition" else {**_of_kind(kind), "status": "completed"}
    )  # fmt: skip
    out = fhir.derive(bundle({**resource, field: written}), CODES, kb)
    if recent:
        assert out.data == counted
        assert any(f"dated {written} only, so judged by its last day; ask the client" in n for n in out.notes)
    else:
        assert out.data == ({"fracture_history": True} if kind == "Condition" else {})
        assert out.notes == ((confirm("Condition (no id) (Fracture of neck of femur)"),) if kind == "Condition" else ())


NEGATED = [{"url": "https://ehr.example/fhir/StructureDefinition/not-given", "valueBoolean": True}]
TAKES_WARFARIN = {
    "resourceType": "MedicationStatement",
    "id": "ms",
    "status": "active",
    "medicationCodeableConcept": WARFARIN,
}


@pytest.mark.parametrize("modifier", [{"modifierExtension": NEGATED}, {"implicitRules": "https://ehr.example/rules"}])
def test_a_resource_with_a_modifier_is_read_as_written_and_said(kb: Knowledge, modifier: dict[str, Any]) -> None:
    """R4: a reader must check for modifiers, which may change what a resource means. None is known here:
    a blood thinner is still counted, and the therapist is told to check the record."""
    warfarin = TAKES_WARFARIN | modifier
    out = fhir.derive(bundle(warfarin), CODES, kb)
    assert out.data == {"anticoagulants": True}
    said = NEGATED[0]["url"] if "modifierExtension" in modifier else "implicit rules (https://ehr.example/rules)"
    assert len(out.notes) == 1 and said in out.notes[0] and out.notes[0].startswith("MedicationStatement/ms (")
    assert out.notes[0].endswith("which may change what it says; read as written: check the record")
    plan = api.plan(bundle=bundle(warfarin), knowledge=kb, as_of=JUDGED)
    assert plan["record"]["notes"] == list(out.notes)


def test_a_bundle_written_under_implicit_rules_is_read_as_written_and_said(kb: Knowledge) -> None:
    record = bundle(TAKES_WARFARIN) | {"id": "b", "implicitRules": "https://ehr.example/rules"}
    out = fhir.derive(record, CODES, kb)
    assert out.data == {"anticoagulants": True}
    assert out.notes == ("Bundle/b: carries implicit rules (https://ehr.example/rules), which osteocheck cannot read and "
                         "which may change what it says; read as written: check the record",)  # fmt: skip


@pytest.mark.parametrize(
    ("modifier", "said"),
    [({"modifierExtension": [{"valueBoolean": True}]}, "a modifier extension (no URL)"),
     ({"modifierExtension": {"url": "x"}}, "a modifier extension (no URL)"),
     ({"implicitRules": ["https://ehr.example/rules"]}, "implicit rules (not a URI)"),
     ({"implicitRules": " "}, "implicit rules (not a URI)")],
)  # fmt: skip
def test_a_malformed_modifier_is_said_all_the_same(kb: Knowledge, modifier: dict[str, Any], said: str) -> None:
    """Malformed, a modifier still says the resource means more than it writes; null says nothing."""
    out = fhir.derive(bundle(TAKES_WARFARIN | modifier), CODES, kb)
    assert out.data == {"anticoagulants": True} and len(out.notes) == 1 and f"carries {said}, which" in out.notes[0]
    normal = SCAN | {"status": "final", "valueQuantity": {"value": -0.5}, "effectiveDateTime": "2026-01-01"}
    scan = fhir.derive(bundle(normal | modifier), CODES, kb)
    assert scan.data == {"stage": "osteoporosis"} and f"carries {said}, which" in scan.notes[1]
    plain = {"modifierExtension": None, "implicitRules": None}
    assert fhir.derive(bundle(TAKES_WARFARIN | plain), CODES, kb).notes == ()
    assert fhir.derive(bundle(normal | plain), CODES, kb).data == {"t_score": -0.5}


@pytest.mark.parametrize(
    ("field", "code", "said"),
    [
        ("tag", "SUBSETTED", "marked SUBSETTED (some of it left out: a summary"),
        ("security", "SUBSETTED", "marked SUBSETTED (some of it left out: a summary"),
        ("security", "REDACTED", "labelled REDACTED (some of it withheld)"),
        ("security", "MASKED", "labelled MASKED (some of it hidden)"),
    ],
)
@pytest.mark.parametrize("system", ["http://terminology.hl7.org/CodeSystem/v3-ObservationValue", None])
def test_a_resource_marked_in_part_is_not_the_whole_record(
    kb: Knowledge, system: str | None, field: str, code: str, said: str
) -> None:
    """R4: a search with `_summary` or `_elements` tags what it returns SUBSETTED; a server that withholds
    part of a resource (a consent's filter) labels it REDACTED or MASKED. A fracture without its site or
    date, or a drug without its status, would be read as something else: refused, by its type only."""
    label = {"code": code} | ({"system": system} if system else {})
    fracture = {"resourceType": "Condition", "id": "c", "code": {"text": "Fracture of vertebra"},
                "meta": {"lastUpdated": "2026-05-01T00:00:00Z", field: [{"code": "HTEST"}, label]}}  # fmt: skip
    with pytest.raises(ProfileError, match=rf"holds a Condition {re.escape(said)}.*, so not the whole record; ask"):
        fhir.derive(bundle(fracture), CODES, kb)
    other = {**fracture, "meta": {"tag": [{"code": "HTEST"}], "security": [{"code": "HTEST"}, {"code": [code]}]}}
    assert fhir.derive(bundle(other), CODES, kb).data == {"fracture_history": True, "fresh_fractures": ["spine"]}
    patient = {"resourceType": "Patient", "id": "p", "name": [{"text": "Ann"}], "meta": fracture["meta"]}
    assert fhir.derive(bundle(patient), CODES, kb).data == {"name": "Ann", "id": "p"}  # only its name is read
    scan = {"resourceType": "Observation", "id": "o", "meta": fracture["meta"]}
    with pytest.raises(ProfileError, match=rf"holds an Observation {re.escape(said)}"):
        fhir.derive(bundle(scan), CODES, kb)
    whole = {**bundle(other), "meta": fracture["meta"]}  # the Bundle itself: some of its results left out
    with pytest.raises(ProfileError, match=rf"^x\.json: the Bundle is {re.escape(said)}.*, so not the whole record"):
        api.evaluate(bundle=whole, record_name="x.json", as_of="2026-06-01")
    drug = {"resourceType": "Medication", "id": "m", "code": WARFARIN}  # a drug's own Medication: its ingredients
    request = {"resourceType": "MedicationRequest", "id": "mr", "status": "active", "contained": [drug],
               "medicationReference": {"reference": "#m"}}  # fmt: skip
    assert fhir.derive(bundle(request), CODES, kb).data == {"anticoagulants": True}
    request["contained"] = [{"resourceType": "Patient", "meta": fracture["meta"]}, drug | {"meta": fracture["meta"]}]
    with pytest.raises(
        ProfileError, match=rf"holds a MedicationRequest whose contained Medication is {re.escape(said)}"
    ):
        fhir.derive(bundle(request), CODES, kb)


def test_a_request_that_a_drug_not_be_given_counts_and_is_said(kb: Knowledge) -> None:
    """R4 MedicationRequest.doNotPerform is a modifier: the drug is not to be given. Set aside, a flag set by
    mistake would make the plan milder than the record; counted, the plan is stricter, and says why."""
    request = {"resourceType": "MedicationRequest", "id": "mr", "status": "active", "doNotPerform": True,
               "medicationCodeableConcept": WARFARIN}  # fmt: skip
    out = fhir.derive(bundle(request), CODES, kb)
    assert out.data == {"anticoagulants": True}
    assert len(out.notes) == 1 and out.notes[0].startswith("MedicationRequest/mr (")
    assert out.notes[0].endswith(
        ": a request that it not be given (doNotPerform), counted all the same; check the record"
    )
    assert fhir.derive(bundle(request | {"doNotPerform": False}), CODES, kb).notes == ()


def test_a_t_score_with_a_modifier_never_makes_the_plan_milder(kb: Knowledge) -> None:
    """A modifier may say the value is not to be relied on: a normal reading counts as osteoporosis, as an
    unreadable one does; one in the osteoporosis range counts as written."""
    mild = SCAN | {"status": "final", "valueQuantity": {"value": -0.5}, "modifierExtension": NEGATED}
    out = fhir.derive(bundle(mild), CODES, kb)
    assert out.data == {"stage": "osteoporosis"} and "comes with a modifier osteocheck cannot read" in out.notes[0]
    assert "read as written: check the record" in out.notes[1]
    low = fhir.derive(bundle(mild | {"valueQuantity": {"value": -3.1}}), CODES, kb)
    assert low.data == {"t_score": -3.1}


@pytest.mark.parametrize("kind", [{}, ["Condition"], 7, None])
def test_a_resource_whose_type_is_not_a_name_is_counted_not_a_crash(kb: Knowledge, kind: object) -> None:
    """Found by mutating the shipped requests: an object as resourceType stopped the plan (500 in the service)."""
    odd = {"resourceType": kind, "id": "x", "code": mapped("conditions", kind="fracture")}
    out = fhir.derive(bundle(odd, {"resourceType": "Patient", "id": "p"}), CODES, kb)
    assert out.unrecognised == ("an entry without a resource",)


def test_the_survey_refuses_every_element_of_another_version_that_not_r4_names(kb: Knowledge) -> None:
    """The survey tests not_r4's tables inline (a call per resource would cost the service): the two agree."""
    for kind, elements in fhir._OTHER_ELEMENTS.items():
        for element, version in elements.items():
            r = {"resourceType": kind, "id": "x", element: None}
            assert fhir.not_r4(kind, r) == f"{kind}.{element} is an element of FHIR {version}"
            with pytest.raises(ProfileError, match=rf"\({kind}\.{element} is an element of FHIR {version}\)"):
                fhir.derive(bundle(r), CODES, kb)
        assert fhir.not_r4(kind, {"resourceType": kind}) is None
        fhir.derive(bundle({"resourceType": kind, "id": "x"}), CODES, kb)  # no such element: read
