"""The config file's defaults as the commands apply them: a flag always wins, the file fills the gaps."""

from __future__ import annotations

from pathlib import Path

from osteocheck import config
from osteocheck.errors import OutputError


def current() -> config.Config:
    """The settings in effect; a broken config file raises ConfigError (reported as exit 1 by the commands)."""
    return config.load()


def view_format(given: str | None) -> str:
    return given or current().format or "table"


def output_path(output: str) -> str:
    """A relative --output FILE goes into the config's output_folder (made if missing); - and absolute paths stay."""
    folder = current().output_folder
    if output == "-" or folder is None or Path(output).is_absolute():
        return output
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"output_folder {folder}: cannot make it: {exc.strerror or type(exc).__name__}") from None
    return str(folder / output)
