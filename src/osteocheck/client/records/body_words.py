"""Body sites named in the words of a clinical label ("Fracture of neck of femur" -> hips).

Used twice: by `tools/build_code_map.py`, to give each code of a value set the
site its display names, and at import, for a concept the map does not hold.
When in doubt it names more sites, never fewer (a forearm is arms and wrists).
"""

from __future__ import annotations

import functools

from osteocheck.patterns import LazyPattern, fold

# Checked in order; a phrase that names a site removes itself from the text, so
# "neck of femur" is the hips and never also the neck. Words are matched whole.
_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # fractures known by a name, each of one place
    (r"(smith|barton|colles)['’]?s? fracture", ("wrists",)),
    (r"(boxer|bennett)['’]?s? fracture", ("hands",)),
    (r"pott['’]?s? fracture", ("ankles",)),
    (r"jones fracture", ("feet",)),
    (r"(hangman|jefferson)['’]?s? fracture", ("neck", "spine")),
    (r"chance fracture", ("spine",)),
    (r"monteggia\w*|galeazzi\w*", ("arms", "wrists")),
    (r"maisonneuve\w*", ("legs", "ankles")),
    # a vertebra by its level ("T12", "L1"), not "T1 diabetes"
    (r"c[1-7]|odontoid", ("neck", "spine")),
    (r"(t([1-9]|1[0-2])(?!\s*(dm|diabet))|l[1-5])(\s*-\s*[tl]?\d{1,2})?", ("spine",)),
    (r"s[1-5]", ("pelvis",)),
    (r"tibial plateau", ("knees", "legs")),
    # of the wrist (the scaphoid) or of the foot, when the label does not say which
    (r"navicular(?![^,;]{0,60}\b(scaphoid|wrists?|foot|feet|tarsal)\b)", ("wrists", "feet")),
    (r"talus|talar", ("ankles", "feet")),
    # the proximal end of the femur: the hip, and the thigh below it
    (r"proximal end of (the )?femur", ("hips", "legs")),
    (r"neck of (the )?femur|femoral neck|head of (the )?femur|femoral head|upper end of (the )?femur"
     r"|proximal femur|(inter|per|sub)trochanteric|trochanter|acetabul\w*|hip joint|hips?", ("hips",)),
    (r"cervical (vertebra|vertebrae|spine)", ("neck", "spine")),
    (r"neck", ("neck",)),
    (r"vertebra\w*|spin(e|al)|lumbar|thoracic|dorsal|back", ("spine",)),
    (r"sacr(um|al)|coccyx|pelvi(s|c)|ilium|iliac|pubi(s|c)|ischi(um|al)|buttocks?|gluteal|perine\w*|genital\w*"
     r"|vulva\w*|vagina\w*|scrot\w*|penis|penile", ("pelvis",)),
    # not "chest" alone: a "chest infection" is of the lungs, and placed nowhere counts as of the whole body
    (r"ribs?|sternum|chest wall|thorax|thoracic cage|breasts?", ("ribs",)),
    (r"flanks?", ("ribs", "abdomen")),
    (r"trunk|torso", ("ribs", "spine", "abdomen")),
    (r"groin|inguinal", ("pelvis", "hips")),
    (r"clavicle|collarbone|scapula|shoulder|upper end of (the )?humerus|proximal (end of (the )?)?humerus",
     ("shoulders",)),
    (r"lower end of (the )?(radius|ulna)|distal (end of (the )?)?(radius|ulna)|wrists?|carpal|scaphoid|colles", ("wrists",)),
    (r"forearm|radius|ulna|radial|ulnar", ("arms", "wrists")),
    (r"humerus|upper arm|elbow|olecranon|upper (limb|extremity)|arms?|axillary|axilla|armpits?|subclavian|brachial", ("arms",)),
    (r"metacarpal|fingers?|thumb|hands?|palms?|palmar", ("hands",)),
    (r"patella|knees?|popliteal", ("knees", "legs")),
    (r"malleol\w*|ankles?", ("ankles",)),
    (r"calcane\w*|metatarsal|toes?|heel|foot|feet|tarsal|soles?|plantar", ("feet",)),
    (r"femur|femoral|tibia\w*|fibula\w*|thigh|shin|calf|calves|lower (limb|extremity)|legs?|saphenous", ("legs",)),
    (r"skull|intracranial|face|facial|jaw|mandible|maxilla\w*|nasal bones?|orbit\w*|scalp|head|eyelids?|eyes?|eyeballs?|eyebrows?|ocular"
     r"|ears?|auricle|nose|lips?|cheeks?|chin|forehead|mouth|oral|tongue|temple", ("head",)),
    (r"abdom\w*", ("abdomen",)),
)  # fmt: skip


# Searched case-sensitively in the folded label (`fold`): in half the time of a case-blind search.
_COMPILED = tuple((LazyPattern(rf"\b(?:{p})\b"), sites) for p, sites in _PHRASES)
# Side words between "of the" and the bone ("lower end of right radius") would hide the phrase.
_SIDES = LazyPattern(r"\b(?:right|left|bilateral|unspecified|both)\b\s*")


# Labels recur from record to record (names.py): what each names is kept, for this many labels.
LABELS_KEPT = 4096


def sites_named(label: str, vocabulary: tuple[str, ...]) -> list[str]:
    """The sites of `vocabulary` the label names, in vocabulary order."""
    return list(_named(label, vocabulary))


@functools.lru_cache(maxsize=LABELS_KEPT)
def _named(label: str, vocabulary: tuple[str, ...]) -> tuple[str, ...]:
    text = _SIDES.sub("", fold(label))
    found: set[str] = set()
    for pattern, sites in _COMPILED:
        if pattern.search(text):
            found.update(sites)
            text = pattern.sub(" ", text)
    return tuple(s for s in vocabulary if s in found)
