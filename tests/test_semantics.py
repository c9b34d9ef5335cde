"""Semantic checks of a knowledge file: each mistake an author can make, its exact message and place."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SHIPPED
from osteocheck.knowledge import loader as knowledge

TEXT = SHIPPED.read_text(encoding="utf-8")
# Every place the shipped file uses pressure level 2: each is an error once the scale has no level 2.
LEVEL_2_USES = [
    f"{line}:{column}: error: pressure 2 is not a level of the pressure scale"
    for line, column in (
        (225, 5),
        (231, 5),
        (237, 5),
        (243, 5),
        (261, 5),
        (551, 7),
        (561, 7),
        (603, 7),
        (882, 7),
        (900, 7),
        (926, 7),
    )
]
CASES = {
    "cap_off_scale": (
        [("      max_pressure: 3\n", "      max_pressure: 7\n")],
        False,
        ["540:7: error: pressure 7 is not a level of the pressure scale"],
    ),
    "clearance_never_liftable": (
        [("    for_each: open_wounds\n    unless_cleared: true\n", "    for_each: open_wounds\n")],
        True,
        [
            "800:7: warning: clearance is asked for but the rule is not 'unless_cleared', so clearance could never lift it"
        ],
    ),
    "duplicate_item_id": (
        [("  - id: approach\n", "  - id: purpose\n")],
        False,
        ["36:5: error: duplicate id 'purpose' in summary"],
    ),
    "duplicate_item_id_not_first": (
        [
            (
                '  - id: approach\n    text: "Avoid deep pressure on fragile bones; customise techniques to protect the skeleton while supporting comfort."\n',
                '  - text: "Avoid deep pressure on fragile bones; customise techniques to protect the skeleton while supporting comfort."\n    id: purpose\n',
            )
        ],
        False,
        ["37:5: error: duplicate id 'purpose' in summary"],
    ),
    "duplicate_rule": (
        [("  - id: no_deep_pressure\n", "  - id: exclude_forceful_techniques\n")],
        False,
        ["532:5: error: duplicate rule id 'exclude_forceful_techniques'"],
    ),
    "duplicate_rule_id_not_first": (
        [("  - id: no_deep_pressure\n    when: always\n", "  - when: always\n    id: exclude_forceful_techniques\n")],
        False,
        ["533:5: error: duplicate rule id 'exclude_forceful_techniques'"],
    ),
    "duplicate_source": (
        [("sources:\n", "sources:\n  - id: text\n    title: Again\n")],
        False,
        ["15:5: error: duplicate source id 'text'"],
    ),
    "duplicate_source_id_not_first": (
        [("sources:\n", "sources:\n  - title: Again\n    id: text\n")],
        False,
        ["15:5: error: duplicate source id 'text'"],
    ),
    "missing_positioning": (
        [("  - id: seated\n", "  - id: upright\n")],
        False,
        [
            "338:1: error: positioning lacks required options: seated",
            "351:5: warning: position 'upright' is named by no rule: it can only ever be 'allowed'",
            "943:45: error: unknown positioning 'seated'",
            "976:21: error: unknown positioning 'seated'",
        ],
    ),
    "missing_site": (
        [("  - {id: head, name: head}\n", "")],
        False,
        ["196:1: error: the site vocabulary lacks required sites: head"],
    ),
    "missing_technique": (
        [("  - id: vibration\n", "  - id: vibrations\n")],
        False,
        [
            "214:1: error: the catalogue lacks required techniques: vibration",
            "227:5: warning: technique 'vibrations' is named by no rule: it can only ever be 'safe'",
            "889:9: error: unknown technique 'vibration' (did you mean 'vibrations'?)",
        ],
    ),
    "positioning_never_named": (
        [
            ("      positioning: [seated]\n", ""),
            ("      positioning: [bolstering, side_lying, seated]\n", "      positioning: [bolstering, side_lying]\n"),
        ],
        True,
        ["351:5: warning: position 'seated' is named by no rule: it can only ever be 'allowed'"],
    ),
    "positioning_never_named_name_first": (
        [
            (
                "  - id: seated\n    name: Seated upright, back supported\n",
                "  - name: Seated upright, back supported\n    id: seated\n",
            ),
            ("      positioning: [seated]\n", ""),
            ("      positioning: [bolstering, side_lying, seated]\n", "      positioning: [bolstering, side_lying]\n"),
        ],
        True,
        ["352:5: warning: position 'seated' is named by no rule: it can only ever be 'allowed'"],
    ),
    "rule_without_condition": (
        [("  - id: no_deep_pressure\n    when: always\n", "  - id: no_deep_pressure\n")],
        False,
        ["532:5: error: a rule needs 'when' (or 'for_each')"],
    ),
    "scale_level_not_first": (
        [("  - level: 2\n    label: heavy lotioning\n", "  - label: heavy lotioning\n    level: 3\n")],
        False,
        [
            "174:5: error: levels must run 1, 2, 3, ... in order; expected 2",
            *LEVEL_2_USES,
        ],
    ),
    "scale_out_of_order": (
        [("  - level: 2\n", "  - level: 3\n")],
        False,
        [
            "173:5: error: levels must run 1, 2, 3, ... in order; expected 2",
            *LEVEL_2_USES,
        ],
    ),
    "self_care_never_added": (
        [("      self_care: [physical_therapist_after_vertebral_fracture]\n", "      assessment: [review_history]\n")],
        False,
        [
            "474:5: error: self-care point 'physical_therapist_after_vertebral_fracture' has 'always: false' but no rule adds it"
        ],
    ),
    "self_care_unadded_id_not_first": (
        [
            (
                "  - id: physical_therapist_after_vertebral_fracture\n    always: false\n",
                "  - always: false\n    id: physical_therapist_after_vertebral_fracture\n",
            ),
            (
                "      self_care: [physical_therapist_after_vertebral_fracture]\n",
                "      assessment: [review_history]\n",
            ),
        ],
        False,
        [
            "475:5: error: self-care point 'physical_therapist_after_vertebral_fracture' has 'always: false' but no rule adds it"
        ],
    ),
    "site_effect_without_sites": (
        [
            (
                "  - id: care_at_at_risk_sites\n    when: always\n    sites: [spine, hips, wrists]\n",
                "  - id: care_at_at_risk_sites\n    when: always\n",
            )
        ],
        False,
        ["550:7: error: 'site_pressure' needs the rule to name its sites ('sites' or 'for_each')"],
    ),
    "sites_and_for_each": (
        [("    for_each: open_wounds\n", "    for_each: open_wounds\n    sites: [legs]\n")],
        False,
        ["795:5: error: a rule takes either 'sites' or 'for_each', not both"],
    ),
    "technique_named_by_no_rule": (
        [('        craniosacral_therapy: "Still holds only; do not slide over or stretch the skin."\n', "")],
        True,
        ["251:5: warning: technique 'craniosacral_therapy' is named by no rule: it can only ever be 'safe'"],
    ),
    "technique_pressure_off_scale": (
        [
            (
                '    category: gentle Swedish\n    description: "Long, slow, gliding strokes with the flat of the hand."\n    pressure: 1\n',
                '    category: gentle Swedish\n    description: "Long, slow, gliding strokes with the flat of the hand."\n    pressure: 9\n',
            )
        ],
        False,
        ["219:5: error: pressure 9 is not a level of the pressure scale"],
    ),
    "technique_unnamed_id_not_first": (
        [
            (
                "  - id: craniosacral_therapy\n    name: Craniosacral therapy\n",
                "  - name: Craniosacral therapy\n    id: craniosacral_therapy\n",
            ),
            ('        craniosacral_therapy: "Still holds only; do not slide over or stretch the skin."\n', ""),
        ],
        True,
        ["252:5: warning: technique 'craniosacral_therapy' is named by no rule: it can only ever be 'safe'"],
    ),
    "thresholds_reversed": (
        [("normal_at_or_above: -1.0", "normal_at_or_above: -3.0")],
        False,
        ["190:1: error: osteoporosis_at_or_below must be lower than normal_at_or_above"],
    ),
    "unknown_refs": (
        [
            ("      positioning: [seated]\n", "      positioning: [seaetd]\n"),
            ("      assessment: [palpate_gently]\n", "      assessment: [palpate_gentle]\n"),
            ("      self_care: [spine_sparing_movement]\n", "      self_care: [spine_sparing]\n"),
            ("    sites: [spine]\n", "    sites: [spin]\n"),
        ],
        False,
        [
            "613:20: error: unknown assessment 'palpate_gentle' (did you mean 'palpate_gently'?)",
            "631:19: error: unknown self-care 'spine_sparing' (did you mean 'spine_sparing_movement'?)",
            "661:13: error: unknown site 'spin' (did you mean 'spine'?)",
            "976:21: error: unknown positioning 'seaetd' (did you mean 'seated'?)",
        ],
    ),
    "unknown_site_in_condition": (
        [("{site: spine, in: fresh_fractures}", "{site: spin, in: fresh_fractures}")],
        False,
        ["762:12: error: unknown site 'spin' (did you mean 'spine'?): this condition could never be true"],
    ),
    "unknown_site_inside_all": (
        [("when: {site: spine, in: fresh_fractures}", "when: {all: [kyphosis, {site: spin, in: fresh_fractures}]}")],
        False,
        ["762:29: error: unknown site 'spin' (did you mean 'spine'?): this condition could never be true"],
    ),
    "unknown_site_inside_any": (
        [("when: {site: spine, in: fresh_fractures}", "when: {any: [kyphosis, {site: spin, in: fresh_fractures}]}")],
        False,
        ["762:29: error: unknown site 'spin' (did you mean 'spine'?): this condition could never be true"],
    ),
    "unless_cleared_without_block": (
        [
            (
                "  - id: care_at_at_risk_sites\n    when: always\n",
                "  - id: care_at_at_risk_sites\n    when: always\n    unless_cleared: true\n",
            )
        ],
        False,
        ["544:5: error: 'unless_cleared' only makes sense with 'no_treatment' or 'clearance'"],
    ),
    "unused_source": (
        [("sources:\n", "sources:\n  - id: unused\n    title: Never cited\n")],
        True,
        ["13:5: warning: source 'unused' is cited by no entry"],
    ),
    "unused_source_title_first": (
        [("sources:\n", "sources:\n  - title: Never cited\n    id: unused\n")],
        True,
        ["14:5: warning: source 'unused' is cited by no entry"],
    ),
    "exclude_at_sites_unknown": (
        [("      exclude_at_sites: [passive_stretching]\n", "      exclude_at_sites: [passive_strech]\n")],
        False,
        ["654:26: error: unknown technique 'passive_strech' (did you mean 'passive_stretching'?)"],
    ),
    "avoid_positioning_unknown": (
        [("avoid_positioning: [prone, massage_chair]", "avoid_positioning: [prone, massage_chiar]")],
        False,
        ["685:34: error: unknown positioning 'massage_chiar' (did you mean 'massage_chair'?)"],
    ),
    "withhold_unknown": (
        [("withhold_self_care: [water_exercise, epsom_soak]", "withhold_self_care: [water_exercise, epsom_sok]")],
        False,
        ["698:44: error: unknown self-care 'epsom_sok' (did you mean 'epsom_soak'?)"],
    ),
    "site_effects_without_sites": (
        [
            (
                "      postpone: true\n",
                "      postpone: true\n      no_treatment: true\n      exclude_at_sites: [vibration]\n",
            )
        ],
        False,
        [
            "697:7: error: 'no_treatment' needs the rule to name its sites ('sites' or 'for_each')",
            "698:7: error: 'exclude_at_sites' needs the rule to name its sites ('sites' or 'for_each')",
        ],
    ),
    "unknown_fact_in_a_sign": (
        [("    facts: [balance_issues]\n", "    facts: [balance_issue]\n")],
        False,
        ["54:13: error: unknown fact 'balance_issue' (did you mean 'balance_issues'?)"],
    ),
    "unknown_site_in_a_step": (
        [
            (
                '    sites: [spine, hips, wrists]\n    source: {ref: text, quote: "Palpate',
                '    sites: [spine, hip, wrists]\n    source: {ref: text, quote: "Palpate',
            )
        ],
        False,
        ["378:20: error: unknown site 'hip' (did you mean 'hips'?)"],
    ),
    "unknown_refs_in_summary_goals_self_care": (
        [
            ("  - id: purpose\n", "  - id: purpose\n    facts: [kyphosiss]\n"),
            ("  - id: treatment_focus\n", "  - id: treatment_focus\n    sites: [hipps]\n"),
            ("  - id: safe_home\n", "  - id: safe_home\n    sites: [feeet]\n"),
        ],
        False,
        [
            "34:13: error: unknown fact 'kyphosiss' (did you mean 'kyphosis'?)",
            "43:13: error: unknown site 'hipps' (did you mean 'hips'?)",
            "448:13: error: unknown site 'feeet' (did you mean 'feet'?)",
        ],
    ),
    "unknown_fact_in_a_site_condition": (
        [("{site: spine, in: fresh_fractures}", "{site: spine, in: fresh_fracture}")],
        False,
        ["762:25: error: unknown per-site fact 'fresh_fracture' (did you mean 'fresh_fractures'?)"],
    ),
    "fact_named_by_no_rule": (
        [
            (
                "facts:\n  - id: fracture_history\n",
                "facts:\n  - id: recent_fall\n    kind: yes_no\n    meaning: fell in the past year\n"
                "    question: A fall in the past year?\n  - id: fracture_history\n",
            )
        ],
        True,
        ["69:5: warning: fact 'recent_fall' is named by no rule: stating it changes no plan"],
    ),
    "contract_fact_of_the_wrong_kind": (
        [
            ("  - id: fever\n    kind: yes_no\n", "  - id: fever\n    kind: per_site\n"),
            ("  - id: dvt\n    kind: per_site\n", "  - id: dvt\n    kind: yes_no\n"),
        ],
        False,
        [
            "101:5: error: the contract's 'fever' is yes_no",
            "115:5: error: the contract's 'dvt' is per_site",
            "702:5: error: 'dvt' is a yes/no fact; a site condition or for_each needs a per-site fact",
            "713:5: error: 'dvt' is a yes/no fact; a site condition or for_each needs a per-site fact",
        ],
    ),
    "contract_fact_with_another_flag": (
        [("    flag: --height-loss\n", "    flag: --lost-height\n")],
        False,
        ["155:5: error: the contract spells 'height_loss' as --height-loss; give flag: --height-loss"],
    ),
    "contract_fact_missing": (
        [
            (
                '  - id: height_loss\n    kind: yes_no\n    flag: --height-loss\n    meaning: "has lost height"\n'
                '    label: "height loss"\n    question: "Has lost height?"\n',
                "",
            )
        ],
        False,
        [
            "62:23: error: unknown fact 'height_loss'",
            "68:1: error: the contract's risk factors are missing: height_loss",
            "619:46: error: unknown fact 'height_loss'",
            "951:28: error: unknown fact 'height_loss'",
        ],
    ),
    "a_fact_named_like_a_profile_key": (
        [
            (
                "facts:\n  - id: fracture_history\n",
                "facts:\n  - id: cleared\n    kind: per_site\n    meaning: m\n    question: q?\n  - id: fracture_history\n",
            )
        ],
        False,
        [
            "69:5: error: 'cleared' is a profile key of its own, not a risk factor",
            "69:5: warning: fact 'cleared' is named by no rule: stating it changes no plan",
        ],
    ),
    "two_required_sites_missing": (
        [("  - {id: head, name: head}\n", ""), ("  - {id: neck, name: neck}\n", "")],
        False,
        ["196:1: error: the site vocabulary lacks required sites: neck, head"],
    ),
    "two_required_techniques_missing": (
        [
            ("  - id: friction\n", "  - id: frictio\n"),
            ("  - id: forceful_stretching\n", "  - id: forceful_stretchin\n"),
        ],
        False,
        [
            "214:1: error: the catalogue lacks required techniques: friction, forceful_stretching",
            "287:5: warning: technique 'frictio' is named by no rule: it can only ever be 'safe'",
            "299:5: warning: technique 'forceful_stretchin' is named by no rule: it can only ever be 'safe'",
            "500:50: error: unknown technique 'friction' (did you mean 'frictio'?)",
            "500:80: error: unknown technique 'forceful_stretching' (did you mean 'forceful_stretchin'?)",
        ],
    ),
    "two_required_positions_missing": (
        [("  - id: prone\n", "  - id: pron\n"), ("  - id: supine\n", "  - id: supin\n")],
        False,
        [
            "338:1: error: positioning lacks required options: prone, supine",
            "339:5: warning: position 'pron' is named by no rule: it can only ever be 'allowed'",
            "345:5: warning: position 'supin' is named by no rule: it can only ever be 'allowed'",
            "685:27: error: unknown positioning 'prone' (did you mean 'pron'?)",
            "778:27: error: unknown positioning 'prone' (did you mean 'pron'?)",
            "790:21: error: unknown positioning 'supine' (did you mean 'supin'?)",
            "954:27: error: unknown positioning 'prone' (did you mean 'pron'?)",
        ],
    ),
    "misquoted_level_technique_position": (
        [
            ('quote: "| 2 | heavy lotioning | the pressure of rubbing lotion in |"', 'quote: "| 2 | heavy lotion |"'),
            (
                '    description: "Firm, slow pressure into the deeper layers of muscle."\n    pressure: 4\n    source: {ref: text, quote: "Avoid deep tissue massage',
                '    description: "Firm, slow pressure into the deeper layers of muscle."\n    pressure: 4\n    source: {ref: text, quote: "Avoid deeep tissue massage',
            ),
            (
                "source: {ref: text, quote: \"Support positioning: chair, bolstering, or side-lying as needed for spinal or hip protection\"}\n    basis: inferred\n    rationale: \"The source's 'chair'",
                "source: {ref: text, quote: \"Support positioning: a chair\"}\n    basis: inferred\n    rationale: \"The source's 'chair'",
            ),
        ],
        False,
        [
            "176:31: error: quote not found in source file sources/REFERENCES.md: it follows the source as far as"
            ' "| 2 | heavy", then reads "lotion |" where the source reads "lotioning | the pressure of ru…"',
            "268:25: error: quote not found in source file sources/000_360acb9329b9f714.txt: it ends as the source"
            ' does from "tissue massage, vigorous compr…", after "Avoid deeep" where the source has'
            ' "…Contraindications - Avoid deep"',
            "354:25: error: quote not found in source file sources/000_360acb9329b9f714.txt: it follows the source"
            ' as far as "Support positioning:", then reads "a chair" where the source reads'
            ' "chair, bolstering, or side-lyi…"',
        ],
    ),
    "a_fact_named_like_a_profile_key_id_not_first": (
        [
            (
                "facts:\n  - id: fracture_history\n",
                "facts:\n  - kind: per_site\n    id: name\n    meaning: m\n    question: q?\n  - id: fracture_history\n",
            )
        ],
        False,
        [
            "70:5: error: 'name' is a profile key of its own, not a risk factor",
            "70:5: warning: fact 'name' is named by no rule: stating it changes no plan",
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_semantic_problem(tmp_path: Path, name: str) -> None:
    replacements, loads, expected = CASES[name]
    text = TEXT
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    (tmp_path / "sources").symlink_to(SHIPPED.parent / "sources")
    path = tmp_path / "k.yaml"
    path.write_text(text, encoding="utf-8")
    kb, problems = knowledge.check(path, use_cache=False)
    assert (kb is not None) is loads
    assert [f"{p.line}:{p.column}: {p.severity}: {p.message}" for p in problems] == expected
    assert all(p.file == str(path) for p in problems)


def test_a_file_without_extends_must_be_complete(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text("id: x\nversion: '1'\ntitle: t\n", encoding="utf-8")
    kb, problems = knowledge.check(path, use_cache=False)
    assert kb is None
    sections = (
        "sources",
        "summary",
        "signs",
        "facts",
        "pressure_scale",
        "bone_density",
        "sites",
        "techniques",
        "positioning",
        "assessment",
        "self_care",
        "rules",
    )
    assert [p.message for p in problems] == sorted(
        f"missing section '{s}' (a file without 'extends' must be complete)" for s in sections
    )
