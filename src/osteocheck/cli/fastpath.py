"""`osteocheck plan` without loading Typer, for the call made many times a day.

It accepts only the plain form of the contract's flags. Anything else (help,
a profile file, an unknown or malformed flag, any error at all) returns None
and the full Typer command line runs instead, so every message and exit code
still comes from one place. A test checks both paths print the same.
"""

from __future__ import annotations

from osteocheck.vocabulary import BOOL_FACTS

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
_VALUES = {"--stage": "stage", "--t-score": "t_score", "--rules": "rules", "--format": "format", "-f": "format"}
_FORMATS = ("table", "json", "markdown")
_SWITCHES = {"--details": "yes", "--short": "no"}


def parse(argv: list[str]) -> tuple[dict[str, object], str | None, str, bool] | None:
    """(profile flags, --rules, --format, --details) for a plain `plan` call, else None."""
    if not argv or argv[0] != "plan":
        return None
    flags: dict[str, object] = {}
    settings: dict[str, str] = {}
    rest = argv[1:]
    while rest:
        arg = rest.pop(0)
        name, inline, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _BOOL and not inline:
            flags[_BOOL[name]] = True
            continue
        if name in _SWITCHES and not inline:
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
        else:
            settings[_VALUES[name]] = value
    from osteocheck import config  # noqa: PLC0415
    from osteocheck.errors import OsteocheckError  # noqa: PLC0415

    try:
        defaults = config.load()
    except OsteocheckError:
        return None  # the full command line reports it
    output_format = settings.get("format") or defaults.format or "table"
    if output_format not in _FORMATS or settings.get("rules") == "":
        return None
    details = {"yes": True, "no": False}.get(settings.get("details", ""), defaults.details)
    return flags, settings.get("rules"), output_format, details


def run(argv: list[str]) -> bool:
    """Print the plan and return True, or return False having printed nothing."""
    parsed = parse(argv)
    if parsed is None:
        return False
    flags, rules, output_format, details = parsed
    from osteocheck.cli.printing import print_plan  # noqa: PLC0415
    from osteocheck.client.profile import build  # noqa: PLC0415
    from osteocheck.engine.evaluate import evaluate  # noqa: PLC0415
    from osteocheck.errors import OsteocheckError  # noqa: PLC0415
    from osteocheck.knowledge import loader  # noqa: PLC0415

    try:
        knowledge = loader.load(loader.resolve_path(rules))
        plan = evaluate(build(flags, knowledge, usage=True), knowledge)
    except OsteocheckError:
        return False
    print_plan(plan, knowledge, output_format, details=details)
    return True
