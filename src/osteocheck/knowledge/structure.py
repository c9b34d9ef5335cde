"""Check plain data against the subset of JSON Schema that `knowledge.schema.SCHEMA` uses.

Every problem is collected with its path, so the loader can report them all at
once with file:line:column. Unknown keys get the closest valid key suggested.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from osteocheck.words import suggest

Path = tuple[str | int, ...]
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


_NAMES = {"object": "a mapping", "array": "a list", "string": "text"}


def _type_ok(value: object, name: str) -> bool:
    if isinstance(value, bool) and name not in ("boolean",):
        return False
    return isinstance(value, _TYPES[name])


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    for name in _TYPES:
        if _type_ok(value, name):
            return _NAMES.get(name, f"a {name}")
    return type(value).__name__


def check(value: object, schema: dict[str, Any], root: dict[str, Any], path: Path = ()) -> Iterator[tuple[Path, str]]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        yield from check(value, root["$defs"][name], root, path)
        return
    if "anyOf" in schema:
        yield from _check_any(value, schema["anyOf"], root, path)
        return
    if "enum" in schema:
        if value not in schema["enum"] or isinstance(value, bool) != any(isinstance(e, bool) for e in schema["enum"]):
            allowed = ", ".join(str(e) for e in schema["enum"])
            hint = suggest(value, [str(e) for e in schema["enum"]]) if isinstance(value, str) else ""
            yield path, f"'{value}' is not allowed here{hint}; allowed: {allowed}"
        return
    kind = schema.get("type")
    if kind and not _type_ok(value, kind):
        wanted = _NAMES.get(kind, f"a {kind}")
        yield path, f"expected {wanted}, found {_describe(value)}"
        return
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or (schema.get("minLength") and not value.strip()):
            yield path, "must not be empty"
        elif "pattern" in schema and not re.fullmatch(schema["pattern"], value):
            yield path, f"'{value}' is not a valid {schema.get('description', 'value')}"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            yield path, f"{value} is below the minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            yield path, f"{value} is above the maximum {schema['maximum']}"
    elif isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            yield path, f"needs at least {schema['minItems']} item(s)"
        for i, item in enumerate(value):
            yield from check(item, schema.get("items", {}), root, (*path, i))
    elif isinstance(value, dict):
        yield from _check_object(value, schema, root, path)


def _check_object(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: Path
) -> Iterator[tuple[Path, str]]:
    props: dict[str, Any] = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in value:
            yield path, f"missing required key '{key}'"
    if len(value) < schema.get("minProperties", 0):
        yield path, "must not be empty"
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            yield from check(item, props[key], root, (*path, key))
        elif extra is False:
            yield (*path, key), f"unknown key '{key}'{suggest(key, list(props))}; allowed: {', '.join(props)}"
        elif isinstance(extra, dict):
            yield from check(item, extra, root, (*path, key))


def _check_any(
    value: object, options: list[dict[str, Any]], root: dict[str, Any], path: Path
) -> Iterator[tuple[Path, str]]:
    """Pick the branch the value's shape selects (type, then required keys) and report its problems."""
    fitting = [o for o in options if _type_ok(value, o.get("type", "object"))]
    if isinstance(value, dict):
        keyed = [o for o in fitting if all(k in value for k in o.get("required", []))]
        fitting = keyed or fitting
        if len(fitting) > 1 or not keyed:
            forms = " | ".join("{" + ", ".join(o.get("required", [])) + "}" for o in fitting)
            yield path, f"expected one of the forms {forms}"
            return
    if not fitting:
        yield path, f"{_describe(value)} is not allowed here"
        return
    yield from check(value, fitting[0], root, path)
