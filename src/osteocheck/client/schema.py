"""The JSON Schema (draft 2020-12) of a client profile file, from the same vocabulary the loader checks."""

from __future__ import annotations

from typing import Any

from osteocheck.engine.model import Knowledge
from osteocheck.vocabulary import STAGES, T_SCORE_RANGE


def profile_schema(knowledge: Knowledge) -> dict[str, Any]:
    site_list = {"type": "array", "items": {"enum": list(knowledge.site_ids)}, "uniqueItems": True}
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
    for fact in knowledge.facts:
        props[fact.id] = {**site_list} if fact.per_site else {"type": "boolean"}
        props[fact.id]["description"] = fact.meaning
    props["cleared"] = {**site_list, "description": "sites the physician has cleared for treatment"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://osteocheck.invalid/schema/profile-1.json",
        "title": "osteocheck client profile",
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
