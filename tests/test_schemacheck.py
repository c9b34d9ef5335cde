"""The structural check: exact messages for each kind of mismatch."""

from __future__ import annotations

from typing import Any

import pytest

from osteocheck.knowledge.schema import SCHEMA
from osteocheck.knowledge.structure import check
from osteocheck.words import suggest

SCHEMA_OF_RULE = {"$ref": "#/$defs/rule"}


@pytest.mark.parametrize(
    ("value", "schema", "expected"),
    [
        (None, {"type": "string"}, [((), "expected text, found nothing")]),
        ([1], {"type": "object"}, [((), "expected a mapping, found a list")]),
        ({"a": 1}, {"type": "array"}, [((), "expected a list, found a mapping")]),
        ("x", {"type": "integer"}, [((), "expected a integer, found text")]),
        (True, {"type": "integer"}, [((), "expected a integer, found a boolean")]),
        (1.5, {"type": "boolean"}, [((), "expected a boolean, found a number")]),
        ("", {"type": "string", "minLength": 1}, [((), "must not be empty")]),
        ("  ", {"type": "string", "minLength": 1}, [((), "must not be empty")]),
        (
            "Bad-Id",
            SCHEMA["$defs"]["rule"]["properties"]["id"],
            [((), "'Bad-Id' is not a valid lower-case id: letters, digits, _")],
        ),
        (0, {"type": "integer", "minimum": 1, "maximum": 10}, [((), "0 is below the minimum 1")]),
        (11, {"type": "integer", "minimum": 1, "maximum": 10}, [((), "11 is above the maximum 10")]),
        ([], {"type": "array", "minItems": 1}, [((), "needs at least 1 item(s)")]),
        ({}, {"type": "object", "minProperties": 1}, [((), "must not be empty")]),
        (True, {"enum": [1, 2]}, [((), "'True' is not allowed here; allowed: 1, 2")]),
        (
            "wanring",
            {"enum": ["info", "warning"]},
            [((), "'wanring' is not allowed here (did you mean 'warning'?); allowed: info, warning")],
        ),
        (
            {"b": 1},
            {"type": "object", "properties": {"a": {}}, "required": ["a"], "additionalProperties": False},
            [((), "missing required key 'a'"), (("b",), "unknown key 'b'; allowed: a")],
        ),
        (
            {"x": 1},
            {"type": "object", "additionalProperties": {"type": "string"}},
            [(("x",), "expected text, found a integer")],
        ),
        (["a", 2], {"type": "array", "items": {"type": "string"}}, [((1,), "expected text, found a integer")]),
        ({"all": [], "any": []}, {"$ref": "#/$defs/condition"}, [((), "expected one of the forms {all} | {any}")]),
        (
            {"nope": 1},
            {"$ref": "#/$defs/condition"},
            [((), "expected one of the forms {all} | {any} | {stage_at_least} | {site, in}")],
        ),
        (3, {"$ref": "#/$defs/condition"}, [((), "a integer is not allowed here")]),
        ({"all": []}, {"$ref": "#/$defs/condition"}, [(("all",), "needs at least 1 item(s)")]),
    ],
)
def test_messages(value: object, schema: dict[str, Any], expected: list[tuple[tuple[object, ...], str]]) -> None:
    assert list(check(value, schema, SCHEMA)) == expected


def test_suggest() -> None:
    assert suggest("sevrity", ["severity", "sites"]) == " (did you mean 'severity'?)"
    assert suggest("zzz", ["severity"]) == ""


@pytest.mark.parametrize(
    ("value", "schema", "expected"),
    [
        ("", {"type": "string"}, []),
        ("A", {"type": "string", "pattern": "^[a-z]+$"}, [((), "'A' is not a valid value")]),
        (10, {"type": "integer", "maximum": 10}, []),
        ([1], {"type": "array"}, []),
        ({}, {"type": "object"}, []),
        ({"x": 1}, {"type": "object", "properties": {}}, []),
        (
            {"x": 1},
            {"type": "object", "additionalProperties": {"$ref": "#/$defs/source"}},
            [(("x",), "expected a mapping, found a integer")],
        ),
        ({"a": 1}, {"anyOf": [{"required": ["a"], "properties": {"a": {"type": "integer"}}}]}, []),
        ({"z": 1}, {"anyOf": [{"type": "object"}]}, []),
        ({"z": 1}, {"anyOf": [{"type": "object"}, {"type": "object"}]}, [((), "expected one of the forms {} | {}")]),
    ],
)
def test_defaults_of_the_schema_subset(
    value: object, schema: dict[str, Any], expected: list[tuple[tuple[object, ...], str]]
) -> None:
    assert list(check(value, schema, SCHEMA)) == expected
