"""The JSON Schema (draft 2020-12) of a client profile file, from the same vocabulary the loader checks."""

from __future__ import annotations

from typing import Any

from osteocheck.facts import BOOL_FACTS, SITE_FACTS, STAGES, T_SCORE_RANGE

_DESCRIPTIONS = {
    "fracture_history": "has had fragility fractures",
    "anticoagulants": "takes blood thinners",
    "corticosteroids": "takes corticosteroids",
    "fragile_skin": "has fragile skin",
    "kyphosis": "rounded upper back",
    "height_loss": "has lost height",
    "balance_issues": "reduced balance / fall risk",
    "fresh_fractures": "sites of fractures that have not healed",
    "open_wounds": "sites of open wounds",
    "active_infections": "sites of active infections",
    "post_surgical": "post-surgical sites",
    "cleared": "sites the physician has cleared for treatment",
}


def profile_schema(sites: tuple[str, ...]) -> dict[str, Any]:
    site_list = {"type": "array", "items": {"enum": list(sites)}, "uniqueItems": True}
    props: dict[str, Any] = {
        "name": {"type": "string", "description": "the client's name (shown on exports)"},
        "id": {"type": ["string", "integer"], "description": "the client's id in the clinic's records"},
        "stage": {"enum": list(STAGES), "description": "diagnosis stage; not given: osteoporosis is assumed"},
        "t_score": {
            "type": "number",
            "minimum": T_SCORE_RANGE[0],
            "maximum": T_SCORE_RANGE[1],
            "description": "bone density T-score; the stage follows from it (WHO)",
        },
    }
    props.update({f: {"type": "boolean", "description": _DESCRIPTIONS[f]} for f in BOOL_FACTS})
    props.update({f: {**site_list, "description": _DESCRIPTIONS[f]} for f in (*SITE_FACTS, "cleared")})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://osteocheck.invalid/schema/profile-1.json",
        "title": "osteocheck client profile",
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
