"""The interpreter's own SHA-256 gives hashlib's digest (the knowledge's identity must not change with it)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osteocheck import digest


@given(st.binary(max_size=4096), st.binary(max_size=512))
def test_the_digest_is_hashlibs_including_an_update(first: bytes, more: bytes) -> None:
    assert digest.sha256_hex(first) == hashlib.sha256(first).hexdigest()
    hasher = digest.sha256(first)
    hasher.update(more)
    assert hasher.hexdigest() == hashlib.sha256(first + more).hexdigest()


def test_without_the_builtin_module_it_falls_back_to_hashlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest, "_made", [])
    monkeypatch.setattr(digest, "_builtin", lambda: None)
    assert digest.sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
