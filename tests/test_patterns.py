"""The word screen in front of the record reader's searches never turns away a label a search would match."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osteocheck.client.records import body_words, names
from osteocheck.client.records.codes import load_code_map
from osteocheck.patterns import LazyPattern, Screen, _branching, stems

ROOT = Path(__file__).resolve().parents[1]
SCREENED = {
    # a condition's drug words are screened by the drugs' own screen, which `names.condition` asks too
    "conditions": ([p for p, _ in names._CONDITIONS if p not in names._DRUGS], names._CONDITION_SCREEN),
    "medications": ([names._BLOOD_THINNERS, names._STEROIDS], names._MEDICATION_SCREEN),
    "procedures": ([names._SURGICAL], names._SURGICAL_SCREEN),
}


def _record_labels() -> list[str]:
    """Every text and display in the shipped and test records."""
    found: list[str] = []
    for path in [*ROOT.glob("examples/fhir/*.json"), *ROOT.glob("tests/data/fhir/**/*.*json")]:
        text = path.read_text(encoding="utf-8")
        found += re.findall(r'"(?:display|text)"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    return sorted(set(found))


RECORD_LABELS = _record_labels()
LABELS = sorted({str(e.get("display", "")) for s in SCREENED for e in load_code_map().entries(s)} | set(RECORD_LABELS))


def _matches(patterns: list[LazyPattern], label: str) -> bool:
    return any(p.search(label) for p in patterns)


@pytest.mark.parametrize("section", sorted(SCREENED))
def test_no_label_of_the_code_map_or_the_records_that_a_search_matches_is_screened_out(section: str) -> None:
    patterns, screen = SCREENED[section]
    assert len(LABELS) > 5000
    missed = [label for label in LABELS if _matches(patterns, label) and not screen.may_hold(label)]
    assert missed == []
    # and the screen does its work: most labels of real records are passed by without a search
    assert sum(screen.may_hold(label) for label in RECORD_LABELS) < len(RECORD_LABELS) / 2


WORDS = st.sampled_from(
    ["fracture", "Warfarin", "OSTEOPOROSIS", "İnfection", "ınfluenza", "DVT", "clot", "bone", "Appendectomy", "ſurgery"]
)
NOISE = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(WORDS, NOISE), max_size=6), st.sampled_from([" ", "", "-", "\u00a0", ","]))
def test_the_screen_passes_whatever_a_search_matches(parts: list[str], joiner: str) -> None:
    label = joiner.join(parts)
    for patterns, screen in SCREENED.values():
        assert screen.may_hold(label) or not _matches(patterns, label)


def test_a_surgical_suffix_is_found_where_the_word_search_found_it() -> None:
    """`_SURGICAL` seeks a suffix where a word ends; the search it replaced walked each word first."""
    walked = re.compile(r"\b\w*(ectomy|otomy|ostomy|plasty|pexy|rrhaphy|desis)\b", re.IGNORECASE)
    suffix = re.compile(names._SURGICAL.source.split("|\\b(")[0], re.IGNORECASE)
    tried = [*LABELS, "ECTOMY", "x_ectomy", "appendectomy_", "ectomyx", "1ectomy", "téectomy", "ОТОМY"]
    assert [t for t in tried if bool(walked.search(t)) != bool(suffix.search(t))] == []
    assert names.surgical("Total knee arthroplasty") and names.surgical("Appendectomy")
    assert not names.surgical("Medication reconciliation (procedure)")


def test_the_turkish_i_matches_case_blind_and_passes_the_screen() -> None:
    assert re.search("infecti", "İNFECTİON", re.IGNORECASE) and names._CONDITION_SCREEN.may_hold("İNFECTİON")
    assert re.search("infecti", "ınfectıon", re.IGNORECASE) and names._CONDITION_SCREEN.may_hold("ınfectıon")


def _holds_a_stem(screen: Screen, text: str) -> bool:
    """The screen's meaning, plainly: some stem is in the text, case-folded."""
    folded = text.replace("İ", "i").replace("ı", "i").casefold()
    return any(stem in folded for stem in screen.stems)


@pytest.mark.parametrize("section", sorted(SCREENED))
def test_the_one_pass_search_finds_a_stem_exactly_when_one_is_there(section: str) -> None:
    screen = SCREENED[section][1]
    assert [label for label in LABELS if screen.may_hold(label) != _holds_a_stem(screen, label)] == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["bone", "bone marrow", "bon", "clot", "clots", "a-b", "x.y", "(p)", "q"]), min_size=1),
       st.text(alphabet="bonecltsa-x.y(p)q ", max_size=30))  # fmt: skip
def test_the_expression_of_any_stems_finds_one_exactly_when_one_is_there(words: list[str], text: str) -> None:
    """Stems that begin others, and characters the expression must take literally."""
    found = re.search(_branching(frozenset(words)), text) is not None
    assert found == any(word in text for word in words)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bfractur\w*|\bcollapsed? vertebra", {"fractur", "collapse"}),
        (r"\b(bone|osseous) metasta\w*|\bDVT\b", {"bone", "osseous", "dvt"}),
        (r"\b(?:neck of (the )?femur|hips?)\b", {"neck of ", "hip"}),
        (r"\bbacteri?emia|[|]x|\bpressure (ulcer|sore)", {"bacter", "pressure "}),
    ],
)
def test_stems_are_the_literal_start_of_each_alternative(pattern: str, expected: set[str]) -> None:
    if "[|]x" in pattern:  # a class starts no literal text: refused, never guessed
        with pytest.raises(ValueError, match="no literal text"):
            stems(pattern)
        return
    assert stems(pattern) == expected


@pytest.mark.parametrize("pattern", [r"\b\w*ectomy", r"(?=x)abc", r"(abc)?def", r"ab", r"\b(abc|\d+)x"])
def test_a_pattern_that_cannot_be_screened_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="cannot screen"):
        stems(pattern)


SITES = ("head", "neck", "shoulders", "arms", "wrists", "hands", "ribs", "spine", "abdomen", "pelvis", "hips", "legs",
         "knees", "ankles", "feet")  # fmt: skip


def _case_blind_sites(label: str) -> set[str]:
    """The sites a label names, read as before the folding: each phrase searched case-blind in the label."""
    text = re.sub(body_words._SIDES.source, "", label, flags=re.IGNORECASE)
    found: set[str] = set()
    for phrase, sites in body_words._PHRASES:
        pattern = re.compile(rf"\b(?:{phrase})\b", re.IGNORECASE)
        if pattern.search(text):
            found.update(sites)
            text = pattern.sub(" ", text)
    return found


BODY = st.sampled_from(["FEMUR", "Neck of Femur", "HİP", "hıp", "ſpine", "Left WRIST", "Lower end of RIGHT radius",
                        "Ear", "SOLE", "ﬁbula", "Kneeſ", "K\u212anee"])  # fmt: skip


def test_the_folded_site_search_finds_every_site_a_case_blind_one_finds() -> None:
    assert [
        label for label in LABELS if not _case_blind_sites(label) <= set(body_words.sites_named(label, SITES))
    ] == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(BODY, NOISE), max_size=5), st.sampled_from([" ", ", ", " of "]))
def test_the_folded_site_search_finds_every_site_a_case_blind_one_finds_in_odd_text(
    parts: list[str], joiner: str
) -> None:
    label = joiner.join(parts)
    assert _case_blind_sites(label) <= set(body_words.sites_named(label, SITES))


def test_no_label_search_scans_on_without_bound() -> None:
    """`[^,;]*` between two words made a search quadratic in the label: 110,000 characters of "metastasis "
    took 75 s. The reader passes at most 500 (`fields.words_of`), but a search must be safe on its own."""
    found = [
        *(p for p, _ in names._CONDITIONS),
        names._BLOOD_THINNERS, names._STEROIDS, names._SURGICAL, names._NEGATED, names._AT_RISK, names.NOT_SYSTEMIC, names.T_SCORE,
        *(p for p, _ in body_words._COMPILED),
    ]  # fmt: skip
    unbounded = [p.source for p in found if re.search(r"\]\*|\]\+|\.\*|\.\+", p.source)]
    assert unbounded == []
    for text in ("metastasis " * 10_000 + "x", "collapse of " * 10_000, "malignant neoplasm of " * 5_000):
        assert names.condition(text, SITES) is None
