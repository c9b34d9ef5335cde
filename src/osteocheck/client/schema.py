"""The JSON Schema (draft 2020-12) of a client profile file, from the same vocabulary the loader checks."""

from __future__ import annotations

from typing import Any

from osteocheck.vocabulary import BOOL_FACTS, MEANINGS, SITE_FACTS, STAGES, T_SCORE_RANGE


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
    props.update({f: {"type": "boolean", "description": MEANINGS[f]} for f in BOOL_FACTS})
    props.update({f: {**site_list, "description": MEANINGS[f]} for f in (*SITE_FACTS, "cleared")})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://osteocheck.invalid/schema/profile-1.json",
        "title": "osteocheck client profile",
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
