"""Defaults a therapist sets once, in a TOML file in the platform's config folder.

Strict like every other input: an unknown key, a wrong type or a broken file is an error, never
skipped. It may name another knowledge file, but never silently: every plan names a knowledge
file that is not the shipped one, and `osteocheck config` says where each setting came from.
"""

import os
import sys
from functools import cache
from pathlib import Path
from typing import NamedTuple

from osteocheck.errors import OsteocheckError
from osteocheck.words import suggest

ENV_VAR = "OSTEOCHECK_CONFIG"
MAX_BYTES = 64 * 1024
FORMATS = ("table", "json", "markdown")
KEYS = {
    "therapist": "your name, for the documents (--therapist)",
    "clinic": "the clinic's name, for the documents",
    "format": "default output of plan, excluded, explain and assess on the terminal: table, json or markdown",
    "details": "true: plan shows the full plan by default (--details)",
    "output_folder": "where a relative --output FILE is written (default: the current folder)",
    "rules": "another knowledge file (named in every plan; --rules and OSTEOCHECK_RULES come first)",
}
TEMPLATE = """\
# osteocheck settings (TOML). Remove the '#' of a line to use it.
# therapist = "Alex Doe"
# clinic = "Riverside Massage"
# format = "table"          # table, json or markdown
# details = false           # true: plan shows every reason, rule and source
# output_folder = "~/Documents/osteocheck"
# rules = "clinic.yaml"     # relative to this file; named in every plan
"""


class ConfigError(OsteocheckError):
    """The config file could not be read or holds something osteocheck does not accept."""


class Config(NamedTuple):
    path: Path
    found: bool = False
    therapist: str | None = None
    clinic: str | None = None
    format: str | None = None
    details: bool = False
    output_folder: Path | None = None
    rules: Path | None = None


def default_path() -> Path:
    """$OSTEOCHECK_CONFIG, else config.toml in the platform's folder for settings."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return base / "osteocheck" / "config.toml"


def load() -> Config:
    """The settings in effect. No file is no settings."""
    return read(default_path())


@cache  # read once a process for each path: several commands' defaults come from it
def read(path: Path) -> Config:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return Config(path)
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot read it: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"config {path}: larger than {MAX_BYTES // 1024} KiB; is it the right file?")
    import tomllib  # noqa: PLC0415 - only when there is a file

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config {path}: not valid TOML: {exc}") from None
    return _settings(path, data)


def _settings(path: Path, data: dict[str, object]) -> Config:
    def fail(message: str) -> ConfigError:
        return ConfigError(f"config {path}: {message}")

    for key in data:
        if key not in KEYS:
            raise fail(f"unknown setting '{key}'{suggest(key, list(KEYS))}; known: {', '.join(KEYS)}")

    def text(key: str) -> str | None:
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise fail(f"'{key}' must be a non-empty string in quotes")
        return value

    fmt = text("format")
    if fmt is not None and fmt not in FORMATS:
        raise fail(f"format '{fmt}' is not one of {', '.join(FORMATS)}{suggest(fmt, list(FORMATS))}")
    details = data.get("details", False)
    if not isinstance(details, bool):
        raise fail("'details' must be true or false")

    def where(key: str) -> Path | None:
        value = text(key)
        return None if value is None else (path.parent / Path(value).expanduser())  # relative to the file

    return Config(path, True, text("therapist"), text("clinic"), fmt, details, where("output_folder"), where("rules"))
