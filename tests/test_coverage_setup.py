"""`no_cover` keeps its promise in one process and in xdist's workers: the marked test runs untraced."""

from __future__ import annotations

import sys

import pytest


@pytest.mark.no_cover
def test_a_no_cover_test_runs_untraced() -> None:
    assert sys.gettrace() is None
