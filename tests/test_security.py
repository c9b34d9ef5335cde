"""What must never reach a user: tracebacks, client data in errors."""

from __future__ import annotations

import sys

import pytest

import osteocheck.engine.evaluate
from osteocheck.cli import app as cli


def test_internal_error_shows_no_traceback_or_client_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object) -> None:
        raise ValueError("Jane Doe, anticoagulants, wrists")

    monkeypatch.setattr(osteocheck.engine.evaluate, "evaluate", broken)
    monkeypatch.setattr(sys, "argv", ["osteocheck", "plan", "--anticoagulants", "--format", "markdown"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "osteocheck: internal error (ValueError); nothing was written. Please report it.\n"
    assert "Traceback" not in err and "Jane" not in err
