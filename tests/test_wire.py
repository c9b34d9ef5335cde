"""The service reads JSON with orjson, for speed, but by the standard library's rules: same values, same errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from osteocheck.service import wire

VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.booleans())
def test_a_value_reads_as_the_standard_library_reads_it(value: object, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert wire.loads(body) == json.loads(body.decode("utf-8"))


def _standard(body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize(
    "body",
    [
        b'\xef\xbb\xbf{"a": 1}',  # a byte-order mark
        b"[NaN, Infinity, -Infinity]",
        b"[1e400, -1e400]",
        b'["\\ud800"]',  # a lone surrogate
        b'{"a": 1, "a": 2}',  # the last of a repeated key
        b"[" * 1500 + b"]" * 1500,
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * 100_000,
        b'{"a": "\x01"}',  # a raw control character
        b"\xff\xfe",
        b"",
        b"[1,]",
        b'{"a" 1}',
        b"[1] [2]",
    ],
    ids=lambda b: repr(b[:16]),
)
def test_what_orjson_refuses_gets_the_standard_answer(body: bytes) -> None:
    try:
        ours: object = wire.loads(body)
    except (ValueError, RecursionError) as exc:
        ours = type(exc), str(exc)
    # compared as text: NaN is not equal to itself
    assert json.dumps(ours, default=repr) == json.dumps(_standard(body), default=repr)


def test_the_answer_is_the_bytes_starlette_would_write() -> None:
    content = {"cards": [{"summary": "Massage may proceed — ≥ 2 «x»", "n": 3, "ok": True, "none": None, "f": 1.5}]}
    assert wire.Json(content).body == JSONResponse(content).body
