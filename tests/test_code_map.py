"""Every code of the FHIR code map is traceable: to a shipped NLM VSAC value set, or to its own public reference."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from osteocheck.client.records import derive as fhir
from osteocheck.client.records.codes import PROVENANCE, SECTIONS
from osteocheck.engine.model import Knowledge

VALUE_SETS = ROOT / "terminology" / "valuesets"
GENERATED = json.loads((ROOT / "data" / "fhir_codes.json").read_text(encoding="utf-8"))
CODES = fhir.load_code_map()
HAND = yaml.safe_load((ROOT / "data" / "fhir_codes.yaml").read_text(encoding="utf-8"))  # the hand-checked part


def loinc_check_digit_ok(code: str) -> bool:
    """LOINC's mod-10 check: from the right, double every other digit of the number before the hyphen."""
    number, _, check = code.partition("-")
    total = 0
    for i, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return check == str((10 - total % 10) % 10)


def test_the_check_digit_routine_knows_good_from_bad() -> None:
    assert loinc_check_digit_ok("38267-1") and loinc_check_digit_ok("38264-8") and loinc_check_digit_ok("80946-7")
    assert not loinc_check_digit_ok("38267-4") and not loinc_check_digit_ok("38263-3")


def test_every_generated_code_is_in_the_value_set_it_names() -> None:
    held: dict[str, set[tuple[str, str]]] = {}
    for oid, meta in GENERATED["value_sets"].items():
        data = json.loads((ROOT / meta["file"]).read_text(encoding="utf-8"))
        assert f"{data['oid']}|{data['version_or_date']}" == oid and data["version_or_date"] == meta["version"]
        held[oid] = {(c["system"], c["code"]) for c in data["codes"]}
    count = 0
    for section in SECTIONS:
        for entry in GENERATED.get(section, []):
            uri = CODES.systems[entry["system"]]
            if "reference" in entry:
                assert (ROOT / entry["reference"].split(" ")[0]).is_file(), entry
                continue
            assert entry["value_sets"], entry
            for oid in entry["value_sets"]:
                assert (uri, entry["code"]) in held[oid], (entry["code"], oid)
            count += 1
    assert count > 10_000


def test_every_hand_entry_carries_a_public_reference() -> None:
    for section in SECTIONS:
        for entry in HAND.get(section, []):
            assert entry.get("reference", "").strip(), entry


def test_every_loinc_code_in_the_map_has_a_valid_check_digit() -> None:
    loinc = [e["code"] for s in SECTIONS for e in CODES.entries(s) if e["system"] == "loinc"]
    assert loinc and all(loinc_check_digit_ok(code) for code in loinc)
    t_scores = {e["code"] for e in CODES.entries("observations") if e.get("t_score")}
    assert {"38267-1", "38264-8", "38263-0", "38265-5", "80946-7"} <= t_scores


def test_the_shipped_map_is_exactly_what_the_builder_makes_from_the_shipped_value_sets() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_code_map
    finally:
        sys.path.pop(0)
    rebuilt, used = build_code_map.build(VALUE_SETS)
    assert rebuilt == GENERATED
    assert {p.name for p in used} == {p.name for p in VALUE_SETS.glob("*.json")}


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("http://www.nlm.nih.gov/research/umls/rxnorm", "855332", {"fact": "anticoagulants"}),  # warfarin 5 mg tablet
        ("http://www.nlm.nih.gov/research/umls/rxnorm", "309362", {"fact": "anticoagulants"}),  # clopidogrel 75 mg
        ("http://hl7.org/fhir/sid/icd-10-cm", "M80.08XA", {"stage": "osteoporosis", "kind": "fracture"}),
        ("http://hl7.org/fhir/sid/icd-10-cm", "Z87.310", {"fact": "fracture_history"}),
        ("http://hl7.org/fhir/sid/icd-10-cm", "M81.0", {"stage": "osteoporosis"}),
        ("http://loinc.org", "38267-1", {"t_score": True}),
    ],
)
def test_codes_real_records_use_are_in_the_map(system: str, code: str, expected: dict[str, object]) -> None:
    section = "medications" if "rxnorm" in system else "observations" if "loinc" in system else "conditions"
    entry = CODES.match(section, {"coding": [{"system": system, "code": code}]})
    assert entry is not None and expected.items() <= entry.items()


def test_a_fracture_due_to_osteoporosis_is_osteoporosis_and_one_of_the_proximal_femur_is_at_the_hip() -> None:
    """A record holding osteopenia and "Pathological fracture of left hip due to osteoporosis" was planned as
    osteopenia; a fracture of the proximal end of the femur was placed on the legs alone."""
    due = [e for e in CODES.entries("conditions") if "due to osteoporosis" in e["display"].lower()]
    assert due and all(e.get("stage") == "osteoporosis" and e.get("kind") == "fracture" for e in due)
    proximal = [e for e in CODES.entries("conditions") if "proximal end of" in e["display"] and "femur" in e["display"]]
    assert proximal and all({"hips", "legs"} <= set(e.get("sites", ())) for e in proximal)


def test_the_review_s_hip_and_vertebral_codes_carry_their_site() -> None:
    def sites(code: str) -> list[str]:
        entry = CODES.match("conditions", {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]})
        assert entry is not None, code
        return list(entry.get("sites", []))

    assert "hips" in sites("S72.141A")  # intertrochanteric, the review's missed hip fracture
    assert sites("M80.08XA") == ["spine"]
    assert "kyphosis" not in str(
        CODES.match("conditions", {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M40.50"}]})
    )


def test_a_later_encounter_of_an_injury_means_what_its_initial_one_means_and_a_sequela_only_history() -> None:
    """ICD-10-CM's 7th character: A initial encounter, D to R subsequent ones (healing, nonunion, malunion),
    S sequela. The value sets list mostly the initial codes; a record coded at a follow-up visit must not
    lose its healing fracture."""
    system = CODES.systems["icd10cm"]

    def means(code: str) -> dict[str, object] | None:
        return CODES.match("conditions", {"coding": [{"system": system, "code": code}]})

    coded = [e for e in CODES.entries("conditions") if e["system"] == "icd10cm"]
    listed = {e["code"] for e in coded}
    unlisted = [e for e in coded if e["code"][7:] == "A" and not {e["code"][:7] + x for x in "DKS"} & listed]
    fracture = next(e for e in unlisted if e.get("kind") == "fracture" and e.get("sites"))
    wound = next(e for e in unlisted if e.get("kind") == "wound")
    healing, nonunion, sequela = (fracture["code"][:7] + last for last in "DKS")
    assert means(healing) == means(nonunion) == means(fracture["code"]) is not None
    assert means(healing.replace(".", "").lower()) == means(fracture["code"])  # as exports send it
    history = {k: v for k, v in fracture.items() if k in ("stage", "fact")} | {"fact": "fracture_history"}
    assert means(sequela) == history
    assert means(wound["code"][:7] + "D") == means(wound["code"]) and means(wound["code"][:7] + "S") is None
    for odd in "1é":  # not an encounter character: not guessed
        assert means(fracture["code"][:7] + odd) is None


def test_every_icd_10_cm_hand_entry_is_the_cdc_tabular_list_s_own_code_and_words() -> None:
    """tools/check_icd10cm.py wrote what the CDC's list says of each; the map must still say the same."""
    checked = json.loads((ROOT / "terminology" / "icd10cm_checked.json").read_text(encoding="utf-8"))
    assert checked["source"].startswith("CDC/NCHS ICD-10-CM Tabular List") and checked["file"].endswith(".xml")
    listed = {c["code"]: c for c in checked["codes"]}
    entries = [e for section in SECTIONS for e in HAND.get(section, []) if e["system"] == "icd10cm"]
    assert len(entries) == len(listed) > 40
    for e in entries:
        assert listed[e["code"]]["description"] == e["display"], e
        assert "icd10cm_checked.json" in e["reference"]
    # a fracture code no value set lists, of each encounter: a collapsed vertebra at a follow-up is still a
    # fracture of the spine; its sequela, a fracture in the past
    collapsed = next(e for e in entries if e["display"].startswith("Collapsed vertebra"))
    assert set(listed[collapsed["code"]]["seventh_characters"]) >= {"A", "D", "S"}
    stem = (collapsed["code"] + "XXX")[:7]
    system = CODES.systems["icd10cm"]
    for last, meaning in [("A", {"kind": "fracture", "sites": ["spine"]}), ("D", {"kind": "fracture", "sites": ["spine"]}),
                          ("S", {"fact": "fracture_history"})]:  # fmt: skip
        found = CODES.match("conditions", {"coding": [{"system": system, "code": stem + last}]})
        assert (
            found is not None
            and {k: found[k] for k in meaning} == meaning
            and found.keys() <= {*meaning, *PROVENANCE, "prefix"}
        )


def test_a_problem_list_entry_of_the_cdc_list_sets_its_fact(kb: Knowledge) -> None:
    """Long-term antiplatelets or systemic steroids, height loss, kyphosis: an active Condition so coded counts."""
    facts = [e for e in HAND["conditions"] if e["system"] == "icd10cm" and "fact" in e]
    assert {e["fact"] for e in facts} >= {"anticoagulants", "corticosteroids", "height_loss", "kyphosis"}
    for e in facts:
        coded = {"coding": [{"system": CODES.systems["icd10cm"], "code": e["code"] + ("1" if e.get("prefix") else "")}]}
        condition = {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]}, "code": coded}
        record = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": condition}]}
        assert fhir.derive(record, CODES, kb).data == {e["fact"]: True}, e


def test_a_code_sent_under_its_system_s_oid_means_what_it_means_under_its_uri(tmp_path: Path) -> None:
    """Exports converted from C-CDA often name the system by its urn:oid:; the code is the same code."""
    assert set(HAND["system_aliases"].values()) <= set(HAND["systems"])
    for oid, name in HAND["system_aliases"].items():
        section = next(s for s in SECTIONS if any(e["system"] == name for e in CODES.entries(s)))
        entry = next(e for e in CODES.entries(section) if e["system"] == name)
        as_uri = CODES.match(section, {"coding": [{"system": CODES.systems[name], "code": entry["code"]}]})
        as_oid = CODES.match(section, {"coding": [{"system": oid, "code": entry["code"]}]})
        assert as_oid == as_uri is not None, oid
    from osteocheck.errors import ProfileError

    broken = tmp_path / "fhir_codes.yaml"
    broken.write_text('systems: {snomed: "http://snomed.info/sct"}\nsystem_aliases: {"urn:oid:1": nosuch}\n', "utf-8")
    with pytest.raises(ProfileError, match="system_aliases must map a URI to a system"):
        fhir.load_code_map(broken)


@pytest.mark.parametrize(
    ("bands", "problem"),
    [
        ("{reference: r, years: [{above: -2.0, years: 5}, {above: -1.5, years: 15}]}", "from the highest 'above' down"),
        ("{reference: r, years: [{above: -1.5, years: 0}]}", "a number of 'years' over 0"),
        ("{reference: r, years: [{above: '-1.5', years: 15}]}", "a number 'above'"),
        ("{reference: r, years: [{above: .nan, years: 15}]}", "a number 'above'"),
        ("{years: [{above: -1.5, years: 15}]}", "a 'reference' says where they come from"),
        ("{reference: r, years: {above: -1.5}}", "each band needs"),
    ],
)
def test_a_broken_t_score_currency_table_is_refused(tmp_path: Path, bands: str, problem: str) -> None:
    from osteocheck.errors import ProfileError

    broken = tmp_path / "fhir_codes.yaml"
    broken.write_text(f'systems: {{snomed: "http://snomed.info/sct"}}\nt_score_current: {bands}\n', "utf-8")
    with pytest.raises(ProfileError, match=re.escape(problem)):
        fhir.load_code_map(broken)
    assert CODES.t_score_years and CODES.t_score_reference.startswith("Gourlay")


def test_the_map_file_is_small_enough_to_load_quickly() -> None:
    assert Path(ROOT / "data" / "fhir_codes.json").stat().st_size < 4_000_000
    assert Path(ROOT / "data" / "fhir_codes.index.json").stat().st_size < 400_000  # what every --fhir start reads


def test_the_index_the_reader_loads_is_made_from_the_full_map() -> None:
    from osteocheck.client.records.codes import index_of

    shipped = json.loads((ROOT / "data" / "fhir_codes.index.json").read_text(encoding="utf-8"))
    assert shipped == index_of(GENERATED)


def test_every_generated_code_means_what_its_full_entry_says_unless_a_hand_entry_overrides_it() -> None:
    from osteocheck.client.records.codes import PROVENANCE

    hand = {(e["system"], e["code"]) for s in SECTIONS for e in CODES.sections[s]}
    checked = 0
    for section in SECTIONS:
        for entry in GENERATED.get(section, []):
            found = CODES.match(
                section, {"coding": [{"system": CODES.systems[entry["system"]], "code": entry["code"]}]}
            )
            if (entry["system"], entry["code"]) in hand:
                assert found is not None and "reference" in found
                continue
            assert found == {k: v for k, v in entry.items() if k not in PROVENANCE}, entry
            checked += 1
    assert checked > 10_000


@pytest.mark.parametrize(
    "damage",
    [
        "[]",
        '{"meanings": {}}',
        '{"meanings": [], "conditions": {"icd10cm": {"A00": 0}}}',
        '{"meanings": [{}], "conditions": {"icd10cm": {"A00": "0"}}}',
        '{"meanings": [{}], "conditions": {"icd10cm": ["A00"]}}',
        '{"meanings": [{}], "conditions": {"nosuch": {"A00": 0}}}',
        "not json",
    ],
)
def test_a_damaged_index_is_refused_not_misread(tmp_path: Path, damage: str) -> None:
    from osteocheck.errors import ProfileError

    for name in ("fhir_codes.yaml", "fhir_codes.json"):
        (tmp_path / name).write_bytes((ROOT / "data" / name).read_bytes())
    (tmp_path / "fhir_codes.index.json").write_text(damage, encoding="utf-8")
    with pytest.raises(ProfileError):
        fhir.load_code_map(tmp_path / "fhir_codes.yaml")


def test_without_an_index_the_full_map_is_read(tmp_path: Path) -> None:
    for name in ("fhir_codes.yaml", "fhir_codes.json"):
        (tmp_path / name).write_bytes((ROOT / "data" / name).read_bytes())
    alone = fhir.load_code_map(tmp_path / "fhir_codes.yaml")
    assert alone.lookup == CODES.lookup and alone.meanings == CODES.meanings
