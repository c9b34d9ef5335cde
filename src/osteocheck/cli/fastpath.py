"""The everyday calls without loading Typer: `plan`, `excluded`, `explain` and `selfcare` to the terminal.

It accepts only the plain form of the contract's flags (and `--profile FILE`, `--fhir FILE`). Anything
else (help, an unknown or malformed flag, an output file, any error at all) returns None or False and
the full Typer command line runs instead, so every message and exit code still comes from one place.
tests/test_speed_paths.py checks both paths print the same.
"""

from typing import TYPE_CHECKING, NamedTuple

from osteocheck.vocabulary import BOOL_FACTS

if TYPE_CHECKING:
    from osteocheck.engine.model import Knowledge, Plan

_BOOL = {"--" + fact.replace("_", "-"): fact for fact in BOOL_FACTS}
_LISTS = {
    "--fresh-fracture": "fresh_fractures",
    "--open-wound": "open_wounds",
    "--active-infection": "active_infections",
    "--post-surgical": "post_surgical",
    "--dvt": "dvt",
    "--cancer-in-bone": "cancer_in_bone",
    "--cleared": "cleared",
}
_VALUES = {
    "--stage": "stage", "--t-score": "t_score", "--rules": "rules", "--format": "format", "-f": "format",
    "--profile": "profile", "-p": "profile", "--fhir": "fhir",
}  # fmt: skip
_SWITCHES = {"--details": "yes", "--short": "no"}
_FORMATS = {
    "plan": ("table", "json", "markdown", "fhir"),
    "excluded": ("table", "json", "markdown"),
    "explain": ("table", "json", "markdown"),
    "selfcare": ("markdown",),
}


class Call(NamedTuple):
    command: str
    flags: dict[str, object]
    settings: dict[str, str]
    technique: str | None


def parse(argv: list[str]) -> Call | None:
    """A plain call of one of the quick commands, else None."""
    if not argv or argv[0] not in _FORMATS:
        return None
    command = argv[0]
    flags: dict[str, object] = {}
    settings: dict[str, str] = {}
    technique = None
    rest = argv[1:]
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("-"):
            if command != "explain" or technique is not None:
                return None
            technique = arg
            continue
        name, inline, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _BOOL and not inline:
            flags[_BOOL[name]] = True
            continue
        if name in _SWITCHES and not inline and command == "plan":
            settings["details"] = _SWITCHES[name]
            continue
        if name not in _LISTS and name not in _VALUES:
            return None
        if not inline:
            if not rest:
                return None
            value = rest.pop(0)
        if name in _LISTS:
            sites = flags.setdefault(_LISTS[name], [])
            assert isinstance(sites, list)  # noqa: S101 - set just above
            sites.append(value)
        elif _VALUES[name] == "t_score":
            try:
                flags["t_score"] = float(value)
            except ValueError:
                return None
        elif _VALUES[name] == "stage":
            flags["stage"] = value
        elif _VALUES[name] in settings or not value or value == "-":
            return None  # given twice, empty, or standard input: the full command line decides
        else:
            settings[_VALUES[name]] = value
    if command == "explain" and technique is None:
        return None
    return Call(command, flags, settings, technique)


def run(argv: list[str]) -> bool:
    """Print what the command prints and return True, or return False having printed nothing."""
    call = parse(argv)
    if call is None:
        return False
    from pathlib import Path  # noqa: PLC0415

    from osteocheck import config  # noqa: PLC0415
    from osteocheck.api import evaluate_sources  # noqa: PLC0415
    from osteocheck.client.sources import ClientSources  # noqa: PLC0415
    from osteocheck.errors import OsteocheckError  # noqa: PLC0415
    from osteocheck.knowledge import loader  # noqa: PLC0415

    settings = call.settings
    try:
        defaults = config.load()
        output_format = settings.get("format") or (defaults.format if call.command != "selfcare" else None)
        output_format = output_format or _FORMATS[call.command][0]
        if output_format not in _FORMATS[call.command]:
            return False
        knowledge = loader.load(loader.resolve_path(settings.get("rules")))
        if knowledge.warnings:  # the full command says so on stderr
            return False
        if call.technique is not None:
            named = knowledge.technique_named(call.technique)
            if named is None:
                return False
            call = call._replace(technique=named)
        profile_file, fhir_file = settings.get("profile"), settings.get("fhir")
        sources = ClientSources(
            call.flags, Path(profile_file) if profile_file else None, Path(fhir_file) if fhir_file else None
        )
        plan = evaluate_sources(sources, knowledge)
        if call.command == "selfcare":
            from osteocheck.cli.show import people  # noqa: PLC0415
            from osteocheck.documents.content import self_care_sheet  # noqa: PLC0415
            from osteocheck.documents.formats import render  # noqa: PLC0415

            sheet = render(self_care_sheet(plan, knowledge, people(None, None, None, None)), "markdown")
            text = sheet if isinstance(sheet, str) else ""
    except OsteocheckError:
        return False
    _print(call, plan, knowledge, output_format, defaults.details, text if call.command == "selfcare" else "")
    return True


def _print(call: Call, plan: "Plan", knowledge: "Knowledge", output_format: str, details: bool, text: str) -> None:
    from osteocheck.cli import show  # noqa: PLC0415
    from osteocheck.cli.printing import emit, print_plan  # noqa: PLC0415

    if call.command == "plan":
        chosen = {"yes": True, "no": False}.get(call.settings.get("details", ""), details)
        print_plan(plan, knowledge, output_format, details=chosen)
    elif call.command == "excluded":
        show.excluded(plan, knowledge, output_format)
    elif call.command == "explain":
        show.explain(call.technique or "", plan, knowledge, output_format)
    else:
        emit(text)
