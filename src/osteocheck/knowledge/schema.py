"""The JSON Schema (draft 2020-12) of the knowledge file.

One source of truth: `osteocheck schema` prints this, and the loader's
structural check interprets this same dict (see `schemacheck`).
"""

from __future__ import annotations

from typing import Any

from osteocheck.vocabulary import STAGES

SCHEMA_ID = "https://osteocheck.invalid/schema/knowledge-1.json"

_ID = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "description": "lower-case id: letters, digits, _"}
_TEXT = {"type": "string", "minLength": 1}
_IDS = {"type": "array", "items": _ID}

_SOURCE = {
    "type": "object",
    "description": "the source an entry rests on, and the sentence it quotes verbatim",
    "properties": {"ref": _ID, "quote": _TEXT},
    "required": ["ref", "quote"],
    "additionalProperties": False,
}
_BASIS = {
    "source": {"$ref": "#/$defs/source"},
    "basis": {
        "enum": ["source", "inferred"],
        "description": "inferred: the entry interprets its source; give a rationale",
    },
    "rationale": {**_TEXT, "description": "why the inference follows from the source"},
}


def _entry(props: dict[str, Any], required: list[str], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {**props, **_BASIS},
        "required": [*required, "source"],
        "additionalProperties": False,
    }


_ITEM = _entry(
    {
        "id": _ID,
        "text": _TEXT,
        "advice": {**_TEXT, "description": "the point as told to the client, second person"},
        "always": {"type": "boolean", "description": "false: only when a rule adds it"},
        "facts": {**_IDS, "description": "the risk factors the statement is about (declared under 'facts')"},
        "sites": {**_IDS, "description": "body sites the step works on: the plan keeps it off any not to be treated"},
        "on_body": {
            "type": "boolean",
            "description": "self-care done on the body: the sheet keeps it off untreated sites",
        },
    },
    ["id", "text"],
    "a cited statement",
)

_CONDITION = {
    "description": "when a rule fires: 'always', a risk factor, or a combination (positive only)",
    "anyOf": [
        {**_ID, "description": "'always', or a risk factor declared under 'facts'"},
        {
            "type": "object",
            "properties": {"all": {"type": "array", "items": {"$ref": "#/$defs/condition"}, "minItems": 1}},
            "required": ["all"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"any": {"type": "array", "items": {"$ref": "#/$defs/condition"}, "minItems": 1}},
            "required": ["any"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"stage_at_least": {"enum": list(STAGES)}},
            "required": ["stage_at_least"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"site": _ID, "in": {**_ID, "description": "a per-site risk factor"}},
            "required": ["site", "in"],
            "additionalProperties": False,
        },
    ],
}

_LEVEL = {"type": "integer", "minimum": 1, "maximum": 10}

_FACT = {
    "type": "object",
    "description": "a risk factor: what it means, how it is asked, which record codes set it",
    "properties": {
        "id": {**_ID, "description": "the profile key, batch column and --fact NAME"},
        "kind": {"enum": ["yes_no", "per_site"], "description": "per_site: the profile lists the sites"},
        "flag": {
            "type": "string",
            "pattern": "^--[a-z][a-z0-9-]*$",
            "description": "how the command line spells it (the contract's facts only; others use --fact)",
        },
        "meaning": {**_TEXT, "description": "what it means, for help and the profile schema"},
        "label": {**_TEXT, "description": "a few words for the plan at a glance (e.g. 'fresh fracture')"},
        "question": {**_TEXT, "description": "what intake asks"},
        "help": {**_TEXT, "description": "intake's hint under the question"},
        "codes": {
            "type": "array",
            "description": "coded entries of a clinical record (FHIR) that set this fact",
            "items": {
                "type": "object",
                "properties": {
                    "section": {"enum": ["conditions", "medications"]},
                    "system": {"enum": ["snomed", "icd10", "icd10cm", "atc", "rxnorm"]},
                    "code": _TEXT,
                    "display": _TEXT,
                    "prefix": {"type": "boolean", "description": "match every code that starts with this one"},
                },
                "required": ["section", "system", "code", "display"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["id", "kind", "meaning", "question"],
    "additionalProperties": False,
}

_EFFECTS = {
    "type": "object",
    "description": "what a firing rule does to the plan",
    "properties": {
        "exclude": {**_IDS, "description": "techniques that must not be used"},
        "exclude_at_sites": {**_IDS, "description": "techniques that must not be used at the rule's sites"},
        "modify": {
            "type": "object",
            "description": "technique id: the modification it needs",
            "additionalProperties": _TEXT,
        },
        "max_pressure": {**_LEVEL, "description": "highest pressure level overall"},
        "site_pressure": {**_LEVEL, "description": "highest pressure level at the rule's sites"},
        "no_treatment": {"type": "boolean", "description": "the rule's sites are not to be treated"},
        "clearance": {"type": "boolean", "description": "physician clearance is needed first"},
        "positioning": {**_IDS, "description": "positions recommended"},
        "avoid_positioning": {**_IDS, "description": "positions to avoid: a position is avoided if any rule says so"},
        "assessment": {**_IDS, "description": "assessment steps made pressing"},
        "self_care": {**_IDS, "description": "self-care points made pressing"},
        "withhold_self_care": {**_IDS, "description": "self-care points not given to this client"},
        "postpone": {"type": "boolean", "description": "the session is not for today"},
    },
    "additionalProperties": False,
    "minProperties": 1,
}

_RULE = _entry(
    {
        "id": _ID,
        "when": {"$ref": "#/$defs/condition"},
        "for_each": {**_ID, "description": "a per-site risk factor: fire once per site listed under it"},
        "sites": {**_IDS, "description": "the sites the site effects apply to"},
        "unless_cleared": {"type": "boolean", "description": "physician clearance of a site lifts this rule there"},
        "severity": {"enum": ["info", "warning", "critical"]},
        "text": _TEXT,
        "client_reason": {**_TEXT, "description": "why the rule matters, told to the client (self-care sheet)"},
        "physician_question": {**_TEXT, "description": "what the letter asks the physician when the rule fires"},
        "effects": {"$ref": "#/$defs/effects"},
    },
    ["id", "severity", "text", "effects"],
    "a rule: condition, effects, and the sentence it rests on",
)

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "osteocheck knowledge file",
    "type": "object",
    "properties": {
        "id": _ID,
        "version": _TEXT,
        "title": _TEXT,
        "extends": {**_TEXT, "description": "'shipped', or a path: the knowledge this file adds to"},
        "sources": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": _ID, "title": _TEXT, "file": _TEXT},
                "required": ["id", "title"],
                "additionalProperties": False,
            },
        },
        "summary": {"type": "array", "items": {"$ref": "#/$defs/item"}},
        "goals": {"type": "array", "items": {"$ref": "#/$defs/item"}},
        "signs": {"type": "array", "items": {"$ref": "#/$defs/item"}},
        "pressure_scale": {
            "type": "array",
            "items": _entry(
                {"level": _LEVEL, "label": _TEXT, "feel": _TEXT}, ["level", "label", "feel"], "a pressure level"
            ),
        },
        "bone_density": _entry(
            {
                "convention": _TEXT,
                "normal_at_or_above": {"type": "number"},
                "osteoporosis_at_or_below": {"type": "number"},
            },
            ["convention", "normal_at_or_above", "osteoporosis_at_or_below"],
            "T-score thresholds of the stages",
        ),
        "sites": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": _ID, "name": _TEXT, "at_risk": {"type": "boolean"}},
                "required": ["id", "name"],
                "additionalProperties": False,
            },
        },
        "at_risk_source": {"$ref": "#/$defs/source"},
        "facts": {"type": "array", "items": _FACT, "description": "the risk factors a profile may state"},
        "techniques": {
            "type": "array",
            "items": _entry(
                {"id": _ID, "name": _TEXT, "category": _TEXT, "description": _TEXT, "pressure": _LEVEL},
                ["id", "name", "category", "description", "pressure"],
                "a massage technique",
            ),
        },
        "positioning": {
            "type": "array",
            "items": _entry({"id": _ID, "name": _TEXT, "fits": _TEXT}, ["id", "name", "fits"], "a position"),
        },
        "assessment": {"type": "array", "items": {"$ref": "#/$defs/item"}},
        "self_care": {"type": "array", "items": {"$ref": "#/$defs/item"}},
        "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
    },
    "required": ["id", "version", "title"],
    "additionalProperties": False,
    "$defs": {
        "source": _SOURCE,
        "item": _ITEM,
        "condition": _CONDITION,
        "effects": _EFFECTS,
        "rule": _RULE,
    },
}
