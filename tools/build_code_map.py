"""Build data/fhir_codes.json, the code map's coded entries, from NLM VSAC value sets (and its index).

    python tools/build_code_map.py PATH/TO/valuesets

Every code comes verbatim from a value set expansion; nothing is typed by hand.
The value sets used are copied unchanged to terminology/valuesets/, so the
test suite can trace each code of the map to the file that holds it. Which value
set feeds which fact is the RECIPE below; the hand-checked remainder of the map
(systems, body sites, ATC classes, windows) stays in data/fhir_codes.yaml, each
entry with its own public reference.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from osteocheck.client.records.body_words import sites_named  # noqa: E402
from osteocheck.client.records.codes import index_of  # noqa: E402

SITES = (
    "head", "neck", "shoulders", "arms", "wrists", "hands", "ribs", "spine", "abdomen",
    "pelvis", "hips", "legs", "knees", "ankles", "feet",
)  # fmt: skip
SYSTEMS = {
    "http://snomed.info/sct": "snomed",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
    "http://loinc.org": "loinc",
    "http://www.cms.gov/Medicare/Coding/ICD10": "icd10pcs",
}

# (file stem prefix, section, meaning, display filter or None, display exclusion or None)
# meaning: "stage:X", "fracture", "wound", "fact:X", "t_score", "surgery:SITE"
RECIPE: tuple[tuple[str, str, str, str | None, str | None], ...] = (
    ("osteoporosis__2.16.840.1.113762.1.4.1200.147", "conditions", "osteoporosis", None, None),
    ("osteoporosis__2.16.840.1.113762.1.4.1248.256", "conditions", "osteoporosis", None, None),
    ("osteoporosis_with_current_fracture__", "conditions", "osteoporosis", None, None),
    ("osteoporosis_without_current_fracture__", "conditions", "osteoporosis", None, None),
    ("osteopenia__", "conditions", "stage:osteopenia", None, None),
    ("lower_body_fractures_excluding_ankle_and_foot__", "conditions", "fracture", r"fracture", None),
    ("major_injuries__", "conditions", "fracture", r"fracture", None),
    ("major_injuries__", "conditions", "wound", r"open wound|laceration|puncture|avulsion", r"fracture"),
    ("moderate_injuries__", "conditions", "wound", r"open wound|laceration|puncture|bite|avulsion", r"fracture"),
    ("pressure_injury_deep_tissue_diagnoses__", "conditions", "wound", None, None),
    ("pressure_injury_stage_2_3_4_or_unstageable_diagnoses__", "conditions", "wound", None, None),
    ("venous_thromboembolism__", "conditions", "fact:dvt", None, None),
    ("vte_diagnoses__", "conditions", "fact:dvt", None, None),
    ("malignant_bone_disease__", "conditions", "fact:cancer_in_bone", None, None),
    ("multiple_myeloma__", "conditions", "fact:cancer_in_bone", None, r"remission"),
    ("sepsis__", "conditions", "fact:fever", None, None),
    ("inpatient_falls__", "conditions", "fact:balance_issues", None, None),
    ("frailty_diagnosis__", "conditions", "fact:balance_issues", r"\bfall", None),
    ("long_term_anticoagulant_use__", "conditions", "fact:anticoagulants", None, None),
    ("anticoagulant_medications__", "medications", "fact:anticoagulants", None, r"naproxen"),
    ("anticoagulant_medications_oral_WITH_SBD__", "medications", "fact:anticoagulants", None, None),
    ("anticoagulant_therapy__", "medications", "fact:anticoagulants", None, None),
    ("anticoagulants_for_all_indications__", "medications", "fact:anticoagulants", None, None),
    ("antithrombotic_therapy_anticoagulant__", "medications", "fact:anticoagulants", None, None),
    ("direct_thrombin_inhibitor__", "medications", "fact:anticoagulants", None, None),
    ("injectable_factor_xa_inhibitor_for_vte_prophylaxis__", "medications", "fact:anticoagulants", None, None),
    ("low_dose_unfractionated_heparin_for_vte_prophylaxis__", "medications", "fact:anticoagulants", None, None),
    ("low_molecular_weight_heparin_for_vte_prophylaxis__", "medications", "fact:anticoagulants", None, None),
    ("oral_anticoagulant_medications__", "medications", "fact:anticoagulants", None, None),
    ("oral_factor_xa_inhibitor_for_vte_prophylaxis_or_vte_treatmen__", "medications", "fact:anticoagulants", None, None),
    ("rivaroxaban_for_vte_prophylaxis__", "medications", "fact:anticoagulants", None, None),
    ("unfractionated_heparin__", "medications", "fact:anticoagulants", None, None),
    ("warfarin__", "medications", "fact:anticoagulants", None, None),
    ("antithrombotic_therapy_antiplatelet__", "medications", "fact:anticoagulants", None, None),
    ("glycoprotein_iib_iiia_inhibitors__", "medications", "fact:anticoagulants", None, None),
    ("antithrombotic_therapy_for_ischemic_stroke__", "medications", "fact:anticoagulants", None, None),
    ("glucocorticoids_oral_only__", "medications", "fact:corticosteroids", None, None),
    ("dxa_dual_energy_xray_absorptiometry_scan__", "observations", "t_score", r"T-score", None),
    ("dexa_bone_density_for_urology_care__", "observations", "t_score", r"T-score", None),
    ("hip_fracture_surgery__", "procedures", "surgery:hips", None, None),
)  # fmt: skip


def meaning_of(meaning: str, display: str) -> dict[str, Any]:
    """The map entry's fields for one code, from the recipe's meaning and the code's own words."""
    out: dict[str, Any] = {}
    words = display.lower()
    if meaning == "osteoporosis":
        out["stage"] = "osteoporosis"
        if re.search(r"fracture|collapse", words) and not re.search(r"without[^,]*fracture", words):
            out["kind"] = "fracture"
        if "kyphosis" in words:
            out["fact"] = "kyphosis"
    elif meaning.startswith("stage:"):
        out["stage"] = meaning.split(":")[1]
    elif meaning in ("fracture", "wound"):
        out["kind"] = meaning
    elif meaning.startswith("fact:"):
        out["fact"] = meaning.split(":")[1]
    elif meaning.startswith("surgery:"):
        out["kind"] = "surgery"
        out["site"] = meaning.split(":")[1]
        return out
    elif meaning == "t_score":
        out["t_score"] = True
        return out
    if out.get("kind") == "fracture" and "stage" not in out and re.search(r"due to (secondary )?osteoporosis", words):
        out["stage"] = "osteoporosis"  # "Pathological fracture of left hip due to osteoporosis"
    if out.get("kind") == "fracture" and re.search(r"\bsequela\b|history of", words):
        out = {k: v for k, v in out.items() if k != "kind"} | {"fact": "fracture_history"}
    sites = sites_named(display, SITES)
    if sites and (out.get("kind") or out.get("fact") in ("dvt", "cancer_in_bone")):
        out["sites"] = sites
    return out


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A code in several value sets: the union of what they say (the stricter reading)."""
    merged = {**old}
    merged["value_sets"] = sorted({*old["value_sets"], *new["value_sets"]})
    for key in ("stage", "kind", "fact", "t_score", "site"):
        if key in new and key not in merged:
            merged[key] = new[key]
    if "sites" in new:
        merged["sites"] = [s for s in SITES if s in {*merged.get("sites", []), *new["sites"]}]
    return merged


def build(folder: Path) -> tuple[dict[str, Any], list[Path]]:
    sections: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    value_sets: dict[str, dict[str, Any]] = {}
    used: list[Path] = []
    for stem, section, meaning, keep, drop in RECIPE:
        files = sorted(p for p in folder.glob(f"{stem}*.json"))
        if not files:
            raise SystemExit(f"no value set file starts with {stem} in {folder}")
        for path in files:
            data = json.loads(path.read_text(encoding="utf-8"))
            if path not in used:
                used.append(path)
            key = f"{data['oid']}|{data['version_or_date']}"  # one OID can come in several versions
            value_sets[key] = {
                "name": data["name"],
                "version": data["version_or_date"],
                "file": f"terminology/valuesets/{path.name}",  # in the repository, not the package
                "source_repo": data["source_repo"],
                "source_commit": data["source_commit"],
            }
            for c in data["codes"]:
                system = SYSTEMS.get(c["system"])
                if system is None or (keep and not re.search(keep, c["display"], re.I)):
                    continue
                if drop and re.search(drop, c["display"], re.I):
                    continue
                entry = {"system": system, "code": c["code"], "display": c["display"], "value_sets": [key]}
                entry |= meaning_of(meaning, c["display"])
                bucket = sections.setdefault(section, {})
                code_key = (system, c["code"])
                bucket[code_key] = merge(bucket[code_key], entry) if code_key in bucket else entry
    checked = folder / "loinc_dxa_codes_checked.json"
    listed = json.loads(checked.read_text(encoding="utf-8"))
    used.append(checked)
    bucket = sections.setdefault("observations", {})
    for c in listed["codes"]:
        if c["measures"] != "T-score" or not c["check_digit_valid"] or ("loinc", c["code"]) in bucket:
            continue
        where = "; ".join(
            f"{x['type']}: {x.get('path') or x.get('source_path') or x.get('page', '')}" for x in c["sources"]
        )
        bucket[("loinc", c["code"])] = {
            "system": "loinc", "code": c["code"], "display": c["long_common_name"], "t_score": True,
            "reference": f"terminology/valuesets/{checked.name} ({where})",
        }  # fmt: skip
    out = {
        "generated_by": "tools/build_code_map.py from NLM VSAC value set expansions; do not edit by hand",
        "value_sets": dict(sorted(value_sets.items())),
        **{name: [bucket[k] for k in sorted(bucket)] for name, bucket in sorted(sections.items())},
    }
    return out, used


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    folder = Path(sys.argv[1])
    data, used = build(folder)
    target = ROOT / "terminology" / "valuesets"
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.json"):
        old.unlink()
    for path in used:
        shutil.copyfile(path, target / path.name)
    (ROOT / "data" / "fhir_codes.json").write_text(
        json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n", encoding="utf-8"
    )
    # what the reader loads: each meaning once, then code -> meaning number per section and system
    (ROOT / "data" / "fhir_codes.index.json").write_text(
        json.dumps(index_of(data), ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    counts = {k: len(v) for k, v in data.items() if isinstance(v, list)}
    print(f"{len(used)} value sets, entries: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
