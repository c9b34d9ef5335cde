"""Concepts the code map does not hold, recognised by their words, for the facts a miss makes dangerous.

A record coded with a local or newer code ("Fracture of clavicle", "Coumadin 5 mg")
must not give a quieter plan than the same record coded by the book. Only the
facts where a miss is dangerous are read this way (a fracture, a blood thinner,
a systemic corticosteroid, as a drug or on a problem list, osteoporosis, an infection or fever, a clot, cancer in
bone, an open wound, a rounded back or height loss, which change how the client
may lie and what the spine bears, and falls), and what is found is marked for the
therapist to confirm. Every condition a label names counts, and a negation
reaches only the end of its clause. A fracture in the client's history ("history
of hip fracture") is fracture history, fresh only if its date says so; a past
clot, or one prevented, is none, but a drug named beside it is taken; a family
history is nobody's.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

from osteocheck.client.records.body_words import LABELS_KEPT, sites_named
from osteocheck.patterns import LazyPattern, Screen

MARK = "recognised by name: confirm with the client"
TEXT_MARK = "named only by its text: confirm with the client"  # a coded concept whose text names more
# What a label's words name is the same for every record, and records share their labels: of the
# readings made importing the 15 generated patients one after another, 83 % repeat a label read
# before. So each reading is kept (the entry it gives is shared, like the code map's own: read only).


def _words(pattern: str) -> LazyPattern:
    return LazyPattern(pattern, re.IGNORECASE)


# Words that say a label is not the client's condition now, clause by clause: a risk, a screening or a
# prevention of what they name (the word before, "fracture risk", "DVT prophylaxis", or all after, "at
# increased risk for fracture", "prevention of falls"), a diagnosis ruled out, or the client's past (for a
# fracture, fracture history) unless the label says it is back or current ("History of DVT, recurrent").
_RISK = r"(?:risks?|prophyla\w*|prevention|screening)"
_AT_RISK = _words(
    rf"\b(?:at (?:\w+ )?risk\b|{_RISK} (?:of|for|against)\b)[^,;]{{0,500}}|\b[\w-]{{1,40}} {_RISK}\b(?! (?:of|for|against)\b)"
)
_OUT = r"(?:ruled out|excluded)"
_DONE = r"(?:fully|well|completely|now)"  # said of a healing that is over
_NOT_NOW = _words(rf"\b({_RISK}|{_OUT})\b")  # a label holding none is read whole
_RULED_OUT = _words(rf"\b{_OUT}\b")
_ENDS = _words(rf"(?:{_DONE} |since |since then )?(?:(healed)|({_OUT}))\W{{0,3}}")
# Not "old" ("85-year-old"), and "healed" only where it says the healing is done: "Healed fracture", ", healed",
# "fully healed", never "not healed", "non-healed" or "partially healed".
_PAST = _words(
    rf"\b(history of|hx of|h/o|status post|s/p|previous)\b|(?:^|[,;])\s*(?:{_DONE} )?healed\b|\b{_DONE} healed\b"
)
_NOW = _words(r"\b(recurren\w*|new|acute|current|active)\b")
# Words of a drug the client does not take, in its clause: an allergy to it, or it stopped. Not an adverse
# effect ("Adverse effect of anticoagulants": one taken), nor "off-label" use.
_NOT_TAKEN = _words(r"\b(allerg\w*|intoleran\w*|discontinu\w*|stopped|not on|off(?![-\s]label))\b")
_SEQUELA = _words(r"\bsequela")  # what is left of an injury: a fracture once had, no longer fresh
# A negation reaches to the end of its clause, not further: "fracture of vertebra without spinal cord
# injury" is a fracture, "osteoporosis without current pathological fracture" none. So does a family
# history, someone else's condition: "Fracture of hip; family history of osteoporosis" is the fracture.
_NEGATED = _words(
    r"\b(without|no evidence of|negative for|denies|family history)\b(?:(?!\bbut\b)[^,;])*"
    r"|\bno\b(?![.\s]{0,3}\d)(?: [\w-]{1,40}){1,2}"
)  # "no" of the next words only ("No fracture", "No acute fracture"; not "No improvement of fracture"), not "No. 5"
# Drugs by name (and by class: "Long term (current) use of anticoagulants", "Glucocorticoids"), as the
# code map's value sets list them.
_BLOOD_THINNERS = _words(
    r"\b(warfarin|coumadin|jantoven|apixaban|eliquis|rivaroxaban|xarelto|dabigatran|pradaxa|edoxaban|savaysa"
    r"|heparin|enoxaparin|lovenox|dalteparin|fragmin|tinzaparin|fondaparinux|arixtra|argatroban|bivalirudin"
    r"|angiomax|desirudin|phenprocoumon|acenocoumarol|clopidogrel|plavix|prasugrel|effient|ticagrelor|brilinta"
    r"|ticlopidine|dipyridamole|cilostazol|eptifibatide|tirofiban|aspirin|acetylsalicylic"
    r"|anticoagula\w*|antithrombotic\w*|antiplatelet\w*|blood thinners?)\b"
)
_STEROIDS = _words(
    r"\b(prednison\w*|prednisolon\w*|methylprednisolon\w*|medrol|dexamethason\w*|hydrocortison\w*|cortison\w*"
    r"|betamethason\w*|triamcinolon\w*|deflazacort|budesonid\w*|fludrocortison\w*"
    r"|corticosteroid\w*|glucocorticoid\w*|systemic steroids?)\b"
)
_CONDITIONS: tuple[tuple[LazyPattern, dict[str, Any]], ...] = (
    (_words(r"\bfractur\w*|\bcollapsed? vertebra|\bvertebral collapse\b|\bcollapse of [^,;]{0,100}\bvertebra"),
     {"kind": "fracture"}),
    (_words(r"\bmetasta\w*[^,;]{0,100}\b(bone|osseous|skeletal|spine|vertebra\w*)|\b(bone|osseous|skeletal) metasta\w*"
            r"|\bmyeloma\b|malignant neoplasm of[^,;]{0,100}\b(bone|vertebral|ribs|pelvic|mandible)"
            r"|\bdisseminated malignan\w*"), {"fact": "cancer_in_bone"}),
    (_words(r"\bthrombo(sis|tic|phlebitis|embolism)|\bembol(ism|us|i)\b|\bDVT\b|\bclot\b|\bphlebitis\b"
            r"|\bbudd-chiari\b|\bmicroemboli\b|\bpulmonary (infarction|apoplexy)\b"), {"fact": "dvt"}),
    (_words(r"\bfever\b|\bfebrile\b|\bpyrexia\b|\bsepsis\b|\bseptic\w*|\bbacteri?emia\b"), {"fact": "fever"}),
    (_words(r"\binfecti\w*|\bcellulitis\b|\babscess\b|\bpneumonia\b|\bosteomyelitis\b|\bpyelonephritis\b"
            r"|\binfluenza\b|\bcovid-19\b|\bzoster\b|\bshingles\b|\bimpetigo\b|\btinea\b|\bringworm\b"
            r"|\berysipelas\b|\bfolliculitis\b|\bfurunc\w*|\bcarbunc\w*|\bparonychia\b|\bmrsa\b"),
     {"kind": "infection"}),
    # broken skin: any wound, a tear, a graze, a burn, an ulcer of the skin (not of the stomach or the eye)
    (_words(r"\bwounds?\b|\blacerations?\b|\bpressure (ulcer|injury|sore)s?\b|\bskin ulcers?\b|\bulcers? of skin\b"
            r"|\bbedsores?\b|\bdeep tissue (damage|injury)\b|\bavulsion\b(?! fracture)|\bdehiscence\b"
            r"|\bskin tears?\b|\babrasions?\b|\bburns?\b(?! ?out)"
            r"|\b(leg|foot|heel|toe|ankle|sacral|venous|arterial|stasis|diabetic|decubitus|varicose|neuropathic"
            r"|isch(a)?emic) ulcers?\b|\bulcers? of (the )?(lower (limb|leg|extremity)|leg|foot|feet|heel|toe|ankle"
            r"|sacrum|sacral region|buttock|hip|skin)\b"), {"kind": "wound"}),
    # The source's own words: "Kyphosis (rounded back) or height loss in advanced stages."
    (_words(r"kypho(sis|ses|tic)\b|\brounded (upper )?back\b|\bdowager['’]?s? hump\b|\bstooped (posture|back)\b"
            r"|\bhunch(ed )?back\b"), {"fact": "kyphosis"}),
    (_words(r"\bheight loss\b|\bloss of (body )?height\b|\b(decreased|reduced) (body )?height\b"
            r"|\bheight (reduction|decrease)\b"), {"fact": "height_loss"}),
    # "Reduced mobility, balance issues, and increased risk of falls": balance in the clinic's words
    (_words(r"\bbalance (disorder|problem|impairment|difficult\w*|issue)s?\b|\b(impaired|poor|reduced) balance\b"
            r"|\bloss of balance\b|\bunsteady gait\b|\bunsteadiness\b"
            r"|\bgait (instability|disturbance|abnormality|disorder|impairment)\b|\bataxi\w*|\bvertigo\b"),
     {"fact": "balance_issues"}),
    # Falls, their history and their risk, as the code map reads "Fall from chair" and "Repeated falls".
    (_words(r"\bfall(s|ing)?\b(?! asleep)"), {"fact": "balance_issues"}),
    (_words(r"\bosteoporo\w*|\bgorham\w*|\bdisappearing bone\b"), {"stage": "osteoporosis"}),
    (_words(r"\bosteopeni\w*|\blow bone (mass|density)\b"), {"stage": "osteopenia"}),
    # a drug a problem list names ("Long term (current) use of anticoagulants"), as the code map reads Z79.01
    (_BLOOD_THINNERS, {"fact": "anticoagulants"}),
    (_STEROIDS, {"fact": "corticosteroids"}),
)  # fmt: skip
# A DXA T-score's own name ("T-score, left femoral neck"): never a Z-score, which compares with one's age.
T_SCORE = _words(r"\bt[- ]?scores?\b")
# Words of a route that does not reach the whole body.
NOT_SYSTEMIC = _words(
    r"\b(topical\w*|cream|ointment|lotion|gel|foam|paste|shampoo|ophthalmic|eye|ear|otic|nasal|intranasal"
    r"|inhal\w*|nebuli\w*|mouthwash|rectal|enema|suppositor\w*|dental|vaginal|cutaneous|transdermal|mucosal"
    r"|intra-articular|intraarticular)\b"
)


def local_route(words: str) -> str:
    """The words' route that does not reach the whole body ("cream"), else "". In a list of drugs in
    words ("Prednisone 5 mg; hydrocortisone cream"), only when every item naming a steroid has one."""
    items = [item for item in re.split(r"[;\n]", words) if _STEROIDS.search(item)] or [words]
    found = [NOT_SYSTEMIC.search(item) for item in items]
    return found[0].group(0).lower() if all(found) and found[0] else ""


# Words of a procedure that cuts, opens, fixes or replaces: surgery, whose site heals for weeks. A
# suffix is sought where a word ends (what `\b\w*ectomy\b` finds, with no search along each word).
_SURGICAL = _words(
    r"(ectomy|otomy|ostomy|plasty|pexy|rrhaphy|desis)\b|\b(surgery|surgical|operation|operative|repair"
    r"|replacement|arthroplasty|fixation|amputation|excision|resection|implant\w*|graft\w*|transplant\w*"
    r"|reconstruction|fusion|biopsy|incision|debridement|sutur\w*|open reduction|reposition)\b"
)
# Words every match holds one of: most labels ("Hypertension") hold none, and are passed by in a
# microsecond instead of a dozen searches.
_DRUGS = (_BLOOD_THINNERS, _STEROIDS)
# The drugs' words have their own screen, which a condition's label is also held to (`condition`): in the
# conditions' screen too, they doubled its size and the time to build it, which every record pays.
_CONDITION_SCREEN = Screen(*(pattern.source for pattern, _ in _CONDITIONS if pattern not in _DRUGS))
_MEDICATION_SCREEN = Screen(_BLOOD_THINNERS.source, _STEROIDS.source)
_SURGICAL_SCREEN = Screen(_SURGICAL.source)


@functools.lru_cache(maxsize=LABELS_KEPT)
def surgical(words: str) -> bool:
    """Whether a procedure's words name surgery (most name none, and are passed by at the screen)."""
    return _SURGICAL_SCREEN.may_hold(words) and _SURGICAL.search(words) is not None


@functools.lru_cache(maxsize=LABELS_KEPT)
def condition(label: str, sites: tuple[str, ...]) -> dict[str, Any] | None:
    """A map-like entry for a condition the map lacks, by its words; None when they name nothing dangerous.

    A label may name several ("Deep vein thrombosis after fracture of leg"): the first is the entry's
    own, the others its `also`, each an entry of one meaning, so none is lost."""
    if not label.strip() or not (_CONDITION_SCREEN.may_hold(label) or _MEDICATION_SCREEN.may_hold(label)):
        return None
    said = _NEGATED.sub(" ", label)
    found = [(pattern, meaning) for pattern, meaning in _CONDITIONS if pattern.search(said)]
    stage = next((m["stage"] for _, m in found if "stage" in m), None)  # osteoporosis is listed first
    named = [(p, m) for p, m in found if "stage" not in m]
    if local_route(said):  # "Long-term use of inhaled corticosteroids": not of the whole body
        named = [(p, m) for p, m in named if m.get("fact") != "corticosteroids"]
    if _SEQUELA.search(said):
        named = [(p, {"fact": "fracture_history"} if m.get("kind") == "fracture" else m) for p, m in named]
    if _PAST.search(said) or _NOT_NOW.search(said) or _NOT_TAKEN.search(said):  # most labels hold none
        named = _as_said(said, named)
    parts = [m for _, m in named]
    if stage is None and not parts:
        return None
    base: dict[str, Any] = {"display": label, "by_name": True}
    places = sites_named(label, sites)  # a place a negation names too: more sites, never fewer
    if places:
        base["sites"] = tuple(places)
    first, *also = parts or [{}]
    entry = {**base, **({"stage": stage} if stage else {}), **first}
    if also:
        entry["also"] = tuple({**base, **m} for m in also)
    return entry


_Named = list[tuple[LazyPattern, dict[str, Any]]]


class _Clause(NamedTuple):
    words: str
    past: bool  # the client's past, and the label does not say it is back
    ruled_out: bool
    rest: str  # its words but what is at risk, screened for or prevented
    not_taken: bool  # a drug it names is one the client does not take ("Allergy to aspirin")


def _as_said(said: str, named: _Named) -> _Named:
    """What a label means where a clause of it says a condition is not the client's now (`_AT_RISK`,
    `_RULED_OUT`), is the client's past (`_PAST`), or a drug not taken (`_NOT_TAKEN`). Each says so of
    what it names only: in "History of DVT, on warfarin" the warfarin is taken now, in "DVT with high risk
    of embolism" the clot is there. What stays all the same: falls, whose history or risk is a fall risk;
    a drug taken against a risk ("Enoxaparin for DVT prophylaxis"); a fracture in the past, which is
    fracture history."""
    now = _NOW.search(said) is not None
    clauses = [
        _Clause(words, not now and _PAST.search(words) is not None, _RULED_OUT.search(words) is not None,
                _AT_RISK.sub(" ", words), _NOT_TAKEN.search(words) is not None)
        for words in re.split(r"[,;]", said) if words.strip()
    ]  # fmt: skip
    # a clause of nothing but "healed" or "ruled out" says it of the whole label ("Skin tear of forearm, healed");
    # one with words of its own says it of them ("Allergy to penicillin; on warfarin", "History of
    # appendectomy; DVT")
    ending = [_ENDS.compiled.fullmatch(c.words.strip()) for c in clauses]
    if any(ending):
        past = not now and any(e is not None and e.group(1) is not None for e in ending)
        out = any(e is not None and e.group(2) is not None for e in ending)
        clauses = [c._replace(past=c.past or past, ruled_out=c.ruled_out or out) for c in clauses]
    kept: _Named = []
    for pattern, meaning in named:
        naming = [c for c in clauses if pattern.search(c.words)] or clauses
        if meaning.get("fact") in ("anticoagulants", "corticosteroids"):
            if any(not (c.past or c.ruled_out or c.not_taken) for c in naming):
                kept.append((pattern, meaning))
        elif any(not (c.past or c.ruled_out) and pattern.search(c.rest) for c in naming):
            kept.append((pattern, meaning))  # some clause names it as the client's now
        elif meaning.get("fact") == "balance_issues":
            kept.append((pattern, meaning))
        elif all(c.past for c in naming) and (
            meaning.get("kind") == "fracture" or meaning.get("fact") == "fracture_history"
        ):
            kept.append((pattern, {**meaning, "past": True} if meaning.get("kind") == "fracture" else meaning))
    return kept


@functools.lru_cache(maxsize=LABELS_KEPT)
def medication(label: str) -> dict[str, Any] | None:
    """As `condition`, for a drug: a list in words ("Prednisone 5 mg; warfarin 2 mg") may name both."""
    if not _MEDICATION_SCREEN.may_hold(label):
        return None
    found = [
        {"display": label, "by_name": True, "fact": fact}
        for pattern, fact in ((_BLOOD_THINNERS, "anticoagulants"), (_STEROIDS, "corticosteroids"))
        if pattern.search(label)
    ]
    if not found:
        return None
    first, *also = found
    return {**first, "also": tuple(also)} if also else first
