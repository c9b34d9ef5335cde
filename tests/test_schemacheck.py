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
    from osteocheck.knowledge.structure import valid

    assert valid(value, schema, SCHEMA) == (expected == [])


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


def test_the_quick_verdict_agrees_with_the_full_check_on_mutated_files() -> None:
    """The loader asks `valid` first and walks with `check` only when it says no: they must agree."""
    import copy
    import random

    from conftest import SHIPPED
    from osteocheck.knowledge.structure import valid
    from osteocheck.parsing import strict_yaml

    data = strict_yaml.load(SHIPPED.read_bytes(), str(SHIPPED)).data
    assert valid(data, SCHEMA, SCHEMA) and list(check(data, SCHEMA, SCHEMA)) == []
    rng = random.Random(13)
    odd_values: list[object] = [None, True, 0, -1, 2.5, "", " ", "Bad-Id", "x", [], {}, ["x"], {"x": 1}, 99]
    disagreements = []
    for _ in range(1500):
        mutated = copy.deepcopy(data)
        node: Any = mutated
        for _ in range(rng.randint(1, 6)):  # walk to a random place
            children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            children = [(k, v) for k, v in children if isinstance(v, (dict, list)) and v]
            if not children:
                break
            node = rng.choice(children)[1]
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            continue
        key = rng.choice(keys)
        action = rng.random()
        if action < 0.6:
            node[key] = rng.choice(odd_values)
        elif action < 0.8 and isinstance(node, dict):
            del node[key]
        elif isinstance(node, dict):
            node[rng.choice(["extra", "idd", "whenn"])] = rng.choice(odd_values)
        quick = valid(mutated, SCHEMA, SCHEMA)
        if quick != (list(check(mutated, SCHEMA, SCHEMA)) == []):
            disagreements.append(mutated)
    assert disagreements == []
