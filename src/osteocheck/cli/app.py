"""The command line: a thin client of the engine. Exit codes live only here.

Each command: options -> load -> evaluate -> render -> write. Data goes to
stdout, diagnostics to stderr; 1 = a file could not be read, written or
trusted, 2 = usage.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer._click import exceptions as _click_exceptions

if TYPE_CHECKING:
    from osteocheck.batch.run import Summary
    from osteocheck.documents.content import Document, People
    from osteocheck.engine.model import Knowledge, Plan

from osteocheck import __version__
from osteocheck.cli import show as shown
from osteocheck.cli.options import (
    FORMATS,
    PLAN_FORMATS,
    Client,
    Details,
    DocFormat,
    Force,
    Format,
    Output,
    Physician,
    PlanFormat,
    Rules,
    Therapist,
    ViewFormat,
    When,
    client_options,
    complete_techniques,
)
from osteocheck.cli.printing import emit, print_plan, show
from osteocheck.cli.settings import current, output_path, view_format
from osteocheck.client.sources import ClientSources
from osteocheck.errors import KnowledgeError, OsteocheckError, OutputError, ProfileError
from osteocheck.words import decimal_point_hint, one_line, suggest


def _usage_error_in_one_line(self: Any, file: Any = None) -> None:
    """Click's usage errors (unknown option, bad value, missing argument) in the tool's own voice."""
    ctx = getattr(self, "ctx", None)
    where = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
    param = getattr(self, "param", None)
    if isinstance(self, _click_exceptions.NoSuchOption):
        # Built from its parts: Click's own wording of the hint differs between Typer releases.
        hint = sorted(self.possibilities or ())
        message = f"no such option: {self.option_name}" + (f" (did you mean {', '.join(hint)}?)" if hint else "")
    elif (
        isinstance(self, _click_exceptions.MissingParameter)
        and param is not None
        and param.param_type_name == "argument"
    ):
        message = f"missing argument '{param.name}'"
    else:
        message = one_line(self.format_message()).rstrip(".")
        message = message[:1].lower() + message[1:]
        message = re.sub(r"\(Possible options: ([^)]*)\)", r"(did you mean \1?)", message)
        message += _file_hint(message, ctx)
        if said := re.fullmatch(r"invalid value for '[^']*': '([^']*)' is not a valid float", message):
            message += decimal_point_hint(said[1])
    _stderr(f"osteocheck: {message}{where}")


def _file_hint(message: str, ctx: Any) -> str:
    """A file given where no argument is taken (`plan client.yaml`): the option that reads it."""
    extra = re.fullmatch(r"got unexpected extra argument(?:s|\(s\))? \((.*)\)", message)
    files = [a for a in extra[1].split() if a.lower().endswith((".yaml", ".yml", ".json"))] if extra else []
    flags = {o for p in ctx.command.params for o in p.opts} if ctx is not None else set()
    if not files or "--profile" not in flags:
        return ""
    fhir = f", a FHIR record with --fhir {files[0]}" if files[0].lower().endswith(".json") and "--fhir" in flags else ""
    return f"; a profile file is read with --profile {files[0]}{fhir}"


_click_exceptions.UsageError.show = _usage_error_in_one_line  # type: ignore[method-assign]

app = typer.Typer(
    name="osteocheck",
    help="Contraindication checker for massage therapy with clients who live with osteoporosis.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # tracebacks with locals would print client data
    add_completion=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _stderr(message: str) -> None:
    from osteocheck.render.escape import plain  # noqa: PLC0415 - keeps start-up light

    sys.stderr.write(plain(message).rstrip("\n") + "\n")


def fail(message: str, code: int) -> NoReturn:
    _stderr(message)
    raise typer.Exit(code)


@contextmanager
def reported() -> Iterator[None]:
    """Turn osteocheck's own errors into a message on stderr and the contract's exit code."""
    try:
        yield
    # One line per problem: a name from a record or a file name could hold a line break, and print a line
    # that reads as osteocheck's own.
    except KnowledgeError as exc:
        lines = [one_line(str(p)) for p in exc.problems]
        fail("\n".join(["osteocheck: the knowledge file is invalid; no plan was made.", *lines]), 1)
    except ProfileError as exc:
        fail("\n".join(f"osteocheck: {one_line(m)}" for m in exc.messages), 2 if exc.usage else 1)
    except OsteocheckError as exc:  # OutputError and any other: a file could not be read or written
        fail(f"osteocheck: {one_line(str(exc))}", 1)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"osteocheck {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Contraindication checker for massage therapy with clients who live with osteoporosis."""


# Short names people type for a format: named in the error, never taken silently.
_FORMAT_ALIASES = {"md": "markdown", "txt": "table", "text": "table", "jsonl": "json", "ndjson": "jsonl"}


def check_format(value: str, allowed: tuple[str, ...] = FORMATS) -> str:
    if value not in allowed:
        alias = _FORMAT_ALIASES.get(value.lower())
        hint = f" (did you mean '{alias}'?)" if alias in allowed else suggest(value.lower(), allowed)
        fail(f"osteocheck: --format: '{value}' is not a format{hint}; allowed: {', '.join(allowed)}", 2)
    return value


def _to_file(output: str, force: bool) -> None:
    """--force to the screen would overwrite nothing; the one giving it expects it to."""
    if force and output == "-":
        fail("osteocheck: --force applies to --output FILE only; nothing is overwritten on the screen", 2)


def load_knowledge(rules: Path | None) -> Knowledge:
    from osteocheck.knowledge import loader  # noqa: PLC0415 - not needed for --help

    knowledge = loader.load(loader.resolve_path(rules))
    if knowledge.warnings:  # an educator editing the file hears of them where they use it
        _stderr(
            f"osteocheck: {knowledge.path}: {knowledge.warnings} warning(s); "
            f"osteocheck validate {knowledge.path} lists them"
        )
    return knowledge


def client_plan(rules: Path | None, client: ClientSources) -> tuple[Plan, Knowledge]:
    """Load the knowledge, gather the profile from its sources, and evaluate it."""
    from osteocheck.api import evaluate_sources  # noqa: PLC0415 - not needed for --help

    knowledge = load_knowledge(rules)
    return evaluate_sources(client, knowledge), knowledge


@app.command(short_help="The session plan: go-ahead, where not to touch, techniques")
@client_options
def plan(
    client: ClientSources,
    rules: Rules = None,
    output_format: PlanFormat = None,
    output: Output = "-",
    force: Force = False,
    details: Details = None,
) -> None:
    """The session plan on one screen: go-ahead and clearances, where not to touch, techniques, positions.

    --details adds every reason, rule and source, the assessment steps and the self-care points.
    """
    _to_file(output, force)
    with reported():
        output = output_path(output)
        if output == "-":  # a file's format follows its extension, not the config
            output_format = output_format or current().format
        output_format = check_format(_plan_format(output_format, output), PLAN_FORMATS)
        details = current().details if details is None else details
        result, knowledge = client_plan(rules, client)
        if output != "-":
            from osteocheck.cli.printing import plan_file_text  # noqa: PLC0415
            from osteocheck.writer import write_text  # noqa: PLC0415

            write_text(output, plan_file_text(result, knowledge, output_format, details=details), force=force)
            _stderr(f"Plan written to {output}.")
            return
    print_plan(result, knowledge, output_format, details=details)


# A plan file's format follows its extension; a document format (.pdf, .html) is not a plan's.
_PLAN_EXTENSIONS = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".txt": "table"}


def _suffix(output: str) -> str:
    """The output file's extension in lower case; none for standard output (`-`)."""
    return Path(output).suffix.lower() if output != "-" else ""


def _agrees(given: str | None, output: str, *, views: bool = False, names: dict[str, str] | None = None) -> str | None:
    """The format a file's extension names (a document's; with `views`, a view's too: .json, .txt; or one of
    `names`), if any; a --format that names another stops the command (a PDF written into checklist.md, or a
    checklist's text into checklist.pdf, opens as nothing)."""
    from osteocheck.documents.formats import EXTENSIONS  # noqa: PLC0415

    if names is None:
        names = {**_PLAN_EXTENSIONS, **EXTENSIONS} if views else EXTENSIONS
    by_name = names.get(_suffix(output))
    if given is not None and by_name is not None and given != by_name:
        fail(f"osteocheck: --format {given} contradicts --output {output} ({by_name}); change one of them", 2)
    return by_name


_BATCH_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


def _batch_format(given: str | None, output: str) -> str:
    """jsonl or csv: --format, else the output file's extension, else jsonl. A file of another kind (.xlsx,
    .json: JSON Lines are not one JSON document) or an extension --format contradicts stops the command."""
    if given is not None:
        check_format(given, ("jsonl", "csv"))
    if _suffix(output) not in ("", ".txt", *_BATCH_EXTENSIONS):
        fail(f"osteocheck: --output {output}: batch writes .jsonl or .csv (or .txt with --format)", 2)
    by_name = _agrees(given, output, names=_BATCH_EXTENSIONS)  # first: it refuses a --format the name denies
    return given or by_name or "jsonl"


def _plan_format(given: str | None, output: str) -> str:
    if output == "-":
        return given or "table"
    by_name = _PLAN_EXTENSIONS.get(_suffix(output))
    if by_name is None:
        fail(
            f"osteocheck: --output {output}: a plan is written as .json, .md or .txt; "
            "for a document to hand over use 'osteocheck selfcare' or 'osteocheck letter'",
            2,
        )
    if given == "fhir" and by_name == "json":  # a FHIR Bundle is JSON too
        return given
    _agrees(given, output, views=True)
    return by_name


@app.command(short_help="Only the techniques that must not be used, with reasons")
@client_options
def excluded(client: ClientSources, rules: Rules = None, output_format: ViewFormat = None) -> None:
    """Only the techniques that must not be used, each with its reason and source."""
    with reported():
        output_format = check_format(view_format(output_format))
        result, knowledge = client_plan(rules, client)
    shown.excluded(result, knowledge, output_format)


@app.command(short_help="The technique catalogue, with descriptions and pressures")
def techniques(rules: Rules = None, output_format: Format = "table") -> None:
    """The technique catalogue, with categories, nominal pressure and descriptions."""
    check_format(output_format)
    with reported():
        knowledge = load_knowledge(rules)
    if output_format == "json":
        from osteocheck.render.jsonout import catalogue_dict, dumps  # noqa: PLC0415

        emit(dumps(catalogue_dict(knowledge)))
    elif output_format == "markdown":
        from osteocheck.render.markdown import catalogue_markdown  # noqa: PLC0415

        emit(catalogue_markdown(knowledge))
    else:
        from osteocheck.render.terminal import catalogue_view  # noqa: PLC0415

        show(catalogue_view(knowledge))


@app.command(short_help="Why a technique got its verdict: rules, facts, sources")
@client_options
def explain(
    technique: Annotated[
        str,
        typer.Argument(
            help="Technique id or name, as `osteocheck techniques` lists them.", autocompletion=complete_techniques
        ),
    ],
    client: ClientSources,
    rules: Rules = None,
    output_format: ViewFormat = None,
) -> None:
    """Why a technique got its verdict for this client: rules, triggering facts, source text."""
    with reported():
        output_format = check_format(view_format(output_format))
        result, knowledge = client_plan(rules, client)
    named = knowledge.technique_named(technique)
    if named is None:
        ids = knowledge.technique_ids
        fail(f"osteocheck: unknown technique '{technique}'{suggest(technique, ids)}; allowed: {', '.join(ids)}", 2)
    shown.explain(named, result, knowledge, output_format)


def _people(client_name: str | None, therapist: str | None, physician: str | None, when: str | None) -> People:
    import datetime as dt  # noqa: PLC0415

    day = None
    if when is not None:
        try:
            day = dt.date.fromisoformat(when)
        except ValueError:
            fail(f"osteocheck: --date: '{when}' is not a date; use YYYY-MM-DD", 2)
    with reported():
        return shown.people(client_name, therapist, physician, day)


def _export(document: Document, output: str, explicit: str | None, force: bool) -> None:
    """Render a document in the chosen format and write it (or print it, for `-`)."""
    from osteocheck.documents.formats import EXTENSIONS, pick_format, render  # noqa: PLC0415
    from osteocheck.documents.formats import FORMATS as DOC_FORMATS  # noqa: PLC0415
    from osteocheck.writer import write_bytes, write_text  # noqa: PLC0415

    if explicit is not None:
        check_format(explicit, DOC_FORMATS)
    _agrees(explicit, output)
    if _suffix(output) not in ("", ".txt", *EXTENSIONS):  # Markdown in a .json or a .docx file opens as nothing
        what = {"selfcare": "self-care sheet", "assess": "checklist"}.get(document.kind, document.kind)
        fail(f"osteocheck: --output {output}: a {what} is written as .md, .html or .pdf (or .txt, as Markdown)", 2)
    chosen = pick_format(explicit, output)
    if chosen == "pdf" and output == "-" and sys.stdout.isatty():
        fail("osteocheck: a PDF is not for the terminal; give --output FILE.pdf", 2)
    with reported():
        content = render(document, chosen)
        if isinstance(content, bytes):
            write_bytes(output, content, force=force)
        else:
            write_text(output, content, force=force)
    if output != "-":
        _stderr(f"Written to {output} ({chosen}).")


@app.command(short_help="The client's self-care sheet (Markdown, HTML or PDF)")
@client_options
def selfcare(
    client: ClientSources,
    rules: Rules = None,
    output: Output = "-",
    output_format: DocFormat = None,
    client_name: Client = None,
    therapist: Therapist = None,
    when: When = None,
    force: Force = False,
) -> None:
    """The client's self-care sheet (Markdown, HTML or PDF), the points that matter most for them first."""
    from osteocheck.documents.content import self_care_sheet  # noqa: PLC0415

    _to_file(output, force)
    people = _people(client_name, therapist, None, when)
    with reported():
        output = output_path(output)
        result, knowledge = client_plan(rules, client)
    _export(self_care_sheet(result, knowledge, people), output, output_format, force)


@app.command(short_help="The assessment checklist for this client")
@client_options
def assess(
    client: ClientSources,
    rules: Rules = None,
    output_format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="table, json, markdown, html or pdf.", show_default=False),
    ] = None,
    output: Output = "-",
    client_name: Client = None,
    therapist: Therapist = None,
    when: When = None,
    force: Force = False,
) -> None:
    """The assessment checklist for this client, the pressing steps first, with room for notes."""
    from osteocheck.documents.content import assessment_checklist  # noqa: PLC0415

    _to_file(output, force)
    with reported():
        output = output_path(output)
    if output == "-":
        output_format = view_format(output_format)
    else:  # a file's format follows its extension, not the config; a document's by default
        output_format = _agrees(output_format, output, views=True) or output_format or "markdown"
    output_format = check_format(output_format, ("table", "json", "markdown", "html", "pdf"))
    people = _people(client_name, therapist, None, when)
    with reported():
        result, knowledge = client_plan(rules, client)
    if output_format == "table":
        from osteocheck.render.terminal import assessment_view  # noqa: PLC0415

        if output == "-":
            show(assessment_view(result, knowledge))
        else:
            from osteocheck.cli.printing import as_plain_text  # noqa: PLC0415
            from osteocheck.writer import write_text  # noqa: PLC0415

            with reported():
                write_text(output, as_plain_text(assessment_view(result, knowledge)), force=force)
    elif output_format == "json":
        from osteocheck.render.jsonout import assessment_dict, dumps  # noqa: PLC0415
        from osteocheck.writer import write_text  # noqa: PLC0415

        with reported():
            write_text(output, dumps(assessment_dict(result, knowledge)), force=force)
    else:
        _export(assessment_checklist(result, knowledge, people), output, output_format, force)


@app.command(short_help="A letter to the client's physician")
@client_options
def letter(
    client: ClientSources,
    rules: Rules = None,
    output: Output = "-",
    output_format: DocFormat = None,
    client_name: Client = None,
    therapist: Therapist = None,
    physician: Physician = None,
    when: When = None,
    force: Force = False,
) -> None:
    """A letter to the client's physician: facts, planned approach, questions, and a place to reply."""
    from osteocheck.documents.content import physician_letter  # noqa: PLC0415

    _to_file(output, force)
    people = _people(client_name, therapist, physician, when)
    with reported():
        output = output_path(output)
        result, knowledge = client_plan(rules, client)
    _export(physician_letter(result, knowledge, people), output, output_format, force)


@app.command(short_help="Check knowledge files: every problem with its line")
def validate(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Knowledge files to check (default: the one in use).", show_default=False),
    ] = None,
    rules: Rules = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="Output: text or json.")] = "text",
) -> None:
    """Check knowledge files: every problem, as file:line:column: severity: message. Exit 1 on any error."""
    from osteocheck.knowledge import loader  # noqa: PLC0415

    check_format(output_format, ("text", "json"))
    with reported():
        paths = files or [loader.resolve_path(rules)]
    found = [p for path in paths for p in loader.check(path)[1]]
    if output_format == "json":
        from osteocheck.render.jsonout import dumps  # noqa: PLC0415

        problems = [
            {"file": p.file, "line": p.line, "column": p.column, "severity": p.severity, "message": p.message}
            for p in found
        ]
        emit(dumps({"files": [str(p) for p in paths], "problems": problems, "errors": sum(p.is_error for p in found)}))
    else:
        emit("".join(one_line(str(p)) + "\n" for p in found))  # a file's own words may hold controls or breaks
    errors = sum(p.is_error for p in found)
    _stderr(f"{len(paths)} file(s) checked: {errors} error(s), {len(found) - errors} warning(s)")
    if errors:
        raise typer.Exit(1)


@app.command(short_help="The JSON Schema of the knowledge file, for editors")
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of the knowledge file, for editors."""
    from osteocheck.knowledge.schema import SCHEMA  # noqa: PLC0415
    from osteocheck.render.jsonout import dumps  # noqa: PLC0415

    emit(dumps(SCHEMA))


@app.command("config", short_help="The settings in effect and where each comes from")
def config_command(
    init: Annotated[
        bool, typer.Option("--init", help="Write a commented template to fill in at the config file's place.")
    ] = False,
    force: Force = False,
    output_format: Annotated[str, typer.Option("--format", "-f", help="Output: text or json.")] = "text",
) -> None:
    """The settings in effect and where each comes from (config file, flag, environment or default)."""
    from osteocheck import config  # noqa: PLC0415
    from osteocheck.knowledge import loader  # noqa: PLC0415

    check_format(output_format, ("text", "json"))
    if force and not init:
        fail("osteocheck: --force applies to --init only", 2)
    path = config.default_path()
    if init:
        from osteocheck.writer import write_text  # noqa: PLC0415

        with reported():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text(str(path), config.TEMPLATE, force=force)
        _stderr(f"Written to {path}: remove the '#' of each line you want to use.")
        return
    with reported():
        settings = current()
        rules, origin = loader.resolve_path(None), loader.rules_origin(None)
    given = "config" if settings.found else "default"
    rows = {
        "therapist": (settings.therapist, given if settings.therapist else "not set"),
        "clinic": (settings.clinic, given if settings.clinic else "not set"),
        "format": (settings.format or "table", given if settings.format else "default"),
        "details": ("true" if settings.details else "false", given if settings.details else "default"),
        "output_folder": (
            str(settings.output_folder or "the current folder"),
            given if settings.output_folder else "default",
        ),
        "rules": (str(rules), origin),
    }
    if output_format == "json":
        from osteocheck.render.jsonout import dumps  # noqa: PLC0415

        body = {key: {"value": value, "from": source} for key, (value, source) in rows.items()}
        emit(dumps({"path": str(path), "found": settings.found, "settings": body}))
        return
    state = "" if settings.found else " (none yet: defaults in use; 'osteocheck config --init' writes a template)"
    lines = [f"config file: {path}{state}"]
    lines += [f"  {key:<14} {value or '-':<40} {source}" for key, (value, source) in rows.items()]
    emit("".join(one_line(line) + "\n" for line in lines))


@app.command(short_help="Screen many profiles, or a FHIR Bulk Data export")
def batch(
    source: Annotated[
        str | None,
        typer.Argument(
            metavar="INPUT", help="Profiles: a .jsonl or .csv file, or - for standard input.", show_default=False
        ),
    ] = None,
    fhir_ndjson: Annotated[
        Path | None,
        typer.Option(
            "--fhir-ndjson",
            metavar="DIR",
            file_okay=False,
            help="A FHIR Bulk Data export (Type.NNN.ndjson files): one line per Patient.",
            show_default=False,
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Judge the export's records at this date (default: today).",
            show_default=False,
        ),
    ] = None,
    output: Output = "-",
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="Output: jsonl or csv (default: by --output's extension, else jsonl).",
            show_default=False,
        ),
    ] = None,
    input_format: Annotated[
        str | None,
        typer.Option("--input-format", help="jsonl or csv (default: from the file's extension).", show_default=False),
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Each line the whole plan object, plus the row's id.")] = False,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first row that cannot be evaluated.")
    ] = False,
    force: Force = False,
    rules: Rules = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="N",
            help="Worker processes for a long roster (default: the CPU count; 1: none). Output stays in input order.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Screen many profiles (JSONL or CSV), or a FHIR Bulk Data export: one line each, in order. Exit 1 if any
    failed, or the export is not whole."""
    output_format = _batch_format(output_format, output)
    _to_file(output, force)
    if (source is None) == (fhir_ndjson is None):
        fail("osteocheck: give either INPUT (profiles) or --fhir-ndjson DIR (an export), one of them", 2)
    if full and output_format != "jsonl":
        fail("osteocheck: --full writes JSON Lines: --format jsonl, or an --output FILE.jsonl", 2)
    # A flag that would change nothing is not taken in silence: the one giving it expects it to.
    if as_of is not None and fhir_ndjson is None:
        fail("osteocheck: --as-of applies to --fhir-ndjson DIR (an export) only", 2)
    for flag, given in (("--input-format", input_format), ("--jobs", jobs)):
        if given is not None and fhir_ndjson is not None:
            fail(f"osteocheck: {flag} applies to INPUT (profiles) only, not to --fhir-ndjson", 2)
    if fhir_ndjson is not None:
        import datetime as dt  # noqa: PLC0415

        from osteocheck.batch.run import run_bulk  # noqa: PLC0415
        from osteocheck.client.sources import as_of_date  # noqa: PLC0415

        with reported():
            knowledge = load_knowledge(rules)
            when = as_of_date(as_of) or dt.date.today()
            summary = run_bulk(
                fhir_ndjson, output, knowledge, when, output_format=output_format, full=full,
                fail_fast=fail_fast, force=force,
            )  # fmt: skip
        _finish_batch(summary)
        return
    assert source is not None  # noqa: S101 - checked just above
    if input_format is None:
        input_format = "csv" if source.lower().endswith(".csv") else "jsonl"
    check_format(input_format, ("jsonl", "csv"))
    from osteocheck.batch.run import run_batch  # noqa: PLC0415

    with reported():
        knowledge = load_knowledge(rules)
        summary = run_batch(
            source, output, knowledge, input_format=input_format, output_format=output_format,
            full=full, fail_fast=fail_fast, force=force, jobs=jobs or _cpus(),
        )  # fmt: skip
    _finish_batch(summary)


def _cpus() -> int:
    from osteocheck.batch.parallel import default_jobs  # noqa: PLC0415

    return default_jobs()


def _finish_batch(summary: Summary) -> None:
    for line in summary.problems:  # each names one thing; an id from the input could hold a line break
        _stderr(one_line(line))
    _stderr(summary.line())
    if summary.failed or summary.damaged:
        raise typer.Exit(1)


@app.command(short_help="Ask the profile questions and write a profile file")
def intake(
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="FILE", help="Profile file to write (.yaml or .json).")
    ],
    force: Force = False,
    start: Annotated[
        Path | None, typer.Option("--from", help="Start from this profile file, to update it.", dir_okay=False)
    ] = None,
    rules: Rules = None,
) -> None:
    """Ask the profile questions one at a time and write a profile file (answers from stdin when not a terminal)."""
    from osteocheck.cli.prompt import TerminalReader  # noqa: PLC0415
    from osteocheck.client import intake as interview  # noqa: PLC0415
    from osteocheck.client import profile as profile_module  # noqa: PLC0415
    from osteocheck.writer import check, write_text  # noqa: PLC0415

    _to_file(output, force)
    with reported():
        check(output, force=force)
        knowledge = load_knowledge(rules)
        begin: dict[str, object] = {}
        if start is not None:
            from osteocheck.client import files as profile_files  # noqa: PLC0415

            begin = profile_files.read(start)
            profile_module.build(begin, knowledge, usage=False, origin=str(start))
    terminal = TerminalReader() if sys.stdin.isatty() else None

    def ask(prompt: str) -> str:
        if terminal is not None:
            return terminal.ask(prompt)
        sys.stderr.write(prompt)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        sys.stderr.write(line if line.endswith("\n") else line + "\n")
        return line.rstrip("\r\n")

    def say(text: str) -> None:
        if sys.stderr.isatty():  # wrapped at word boundaries to the terminal, keeping the hint's indent
            import shutil  # noqa: PLC0415
            import textwrap  # noqa: PLC0415

            width = max(40, shutil.get_terminal_size((80, 24)).columns - 1)
            indent = text[: len(text) - len(text.lstrip())]
            lines = textwrap.wrap(text, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
            text = "\n".join(lines)
        sys.stderr.write(text + "\n")

    try:
        answers = interview.interview(ask, say, knowledge, begin)
    except EOFError:
        fail("osteocheck: input ended before the intake was complete; nothing was written", 1)
    except KeyboardInterrupt:
        fail("\nosteocheck: intake interrupted; nothing was written", 130)
    except interview.IntakeAborted as exc:
        fail(f"osteocheck: intake ended ({exc}); nothing was written", 1)
    with reported():
        profile_module.build(answers, knowledge, usage=False, origin="the answers")
        if output.lower().endswith(".json"):
            from osteocheck.render.jsonout import dumps  # noqa: PLC0415

            text = dumps(answers)
        else:
            text = interview.to_yaml(answers, knowledge)
        try:
            write_text(output, text, force=force)
        except OutputError as exc:  # checked before the first question, yet a disk can fill: keep the answers
            sys.stdout.write(text)
            fail(f"osteocheck: {one_line(str(exc))}; the profile is on standard output above, to save by hand", 1)
    import shlex  # noqa: PLC0415

    shown = " " + shlex.quote(output) if output != "-" else " FILE"
    _stderr(f"Profile written to {output}. Plan with:\n  osteocheck plan --profile{shown}")


@app.command(short_help="A CDS Hooks 2.0 service for clinic software")
def serve(
    host: Annotated[
        str,
        typer.Option(metavar="ADDRESS", help="Address to listen on; any other than 127.0.0.1 opens it to the network."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, metavar="PORT", help="Port to listen on.")] = 8080,
    rules: Rules = None,
    jwks: Annotated[
        str | None,
        typer.Option(
            metavar="URL|FILE",
            help="Verify the EHR's CDS Hooks JWT against these keys (JWKS; a URL is https, or http to this machine).",
        ),
    ] = None,
    issuer: Annotated[
        str | None, typer.Option(metavar="URL", help="With --jwks: the only JWT issuer (iss) accepted.")
    ] = None,
    fhir_server: Annotated[
        list[str] | None,
        typer.Option(
            metavar="URL",
            help="A FHIR server (https, or http to this machine) the service may read when the EHR sends no prefetch (repeat).",
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(metavar="ORIGIN", help="Allow browser calls from this origin (repeat); off by default."),
    ] = None,
    public_url: Annotated[
        str | None, typer.Option(metavar="URL", help="The base URL the EHR calls, behind a proxy.")
    ] = None,
    max_body: Annotated[int, typer.Option(min=1024, metavar="BYTES", help="Largest request body accepted.")] = 4
    * 1024
    * 1024,
    timeout: Annotated[
        float,
        typer.Option(
            min=1, metavar="SECONDS", help="Longest time for a request's headers, and again for its body and answer."
        ),
    ] = 20.0,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, metavar="N", help="Processes that answer the hook calls, taking them from one line."
        ),
    ] = 1,
) -> None:
    """A CDS Hooks 2.0 service for clinic software: discovery, patient-view and appointment-book (extra: serve)."""
    from osteocheck.knowledge.loader import resolve_path  # noqa: PLC0415

    try:
        from osteocheck.service.app import Settings, create_app  # noqa: PLC0415 - the serve extra
        from osteocheck.service.run import NotStarted  # noqa: PLC0415
        from osteocheck.service.run import serve as run  # noqa: PLC0415
    except ImportError:
        fail("osteocheck: serve needs the optional extra: pip install 'osteocheck[serve]'", 1)
    for url in [*(fhir_server or []), *([public_url] if public_url else [])]:
        if not url.startswith(("https://", "http://")):
            fail(f"osteocheck: {url[:80]!r}: give an http:// or https:// URL", 2)
    for url in [*(fhir_server or []), *([jwks] if jwks and "://" in jwks else [])]:
        if _in_the_clear(url):  # the EHR's token, or the keys that say who the EHR is, readable on the way
            fail(f"osteocheck: {url[:80]!r}: give an https:// URL; plain http:// only reaches this machine", 2)
    settings = Settings(
        rules=str(resolve_path(rules)),
        max_body=max_body,
        timeout=timeout,
        cors_origins=tuple(cors_origin or ()),
        jwks=jwks,
        issuer=issuer,
        fhir_servers=tuple(fhir_server or ()),
        public_url=public_url,
        workers=workers,
    )
    if workers > 1 and not hasattr(os, "fork"):
        fail("osteocheck: --workers needs os.fork, which this system lacks; run one process per port", 2)
    with reported():
        made = create_app(settings)  # the knowledge, the code map and the keys are checked before the port opens

    def started(url: str) -> None:
        if jwks is None:
            _stderr("osteocheck: no --jwks: requests are not authenticated; keep it on 127.0.0.1 or behind a gateway")
        _stderr(f"osteocheck: CDS Hooks service on {url} (Ctrl-C stops it)")

    try:
        run(made, settings, host=host, port=port, started=started)
    except NotStarted as exc:
        fail(f"osteocheck: {exc}", exc.code)


def _in_the_clear(url: str) -> bool:
    """A plain http:// URL to another machine: what crosses the network to it can be read or changed."""
    import urllib.parse  # noqa: PLC0415

    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower() != "https" and parts.hostname not in ("127.0.0.1", "::1", "localhost")


@app.command("profile-schema", short_help="The JSON Schema of a client profile file")
def profile_schema_command(rules: Rules = None) -> None:
    """Print the JSON Schema (draft 2020-12) of a client profile file."""
    from osteocheck.client.schema import profile_schema  # noqa: PLC0415
    from osteocheck.render.jsonout import dumps  # noqa: PLC0415

    with reported():
        knowledge = load_knowledge(rules)
    emit(dumps(profile_schema(knowledge)))


def main() -> None:
    """Entry point: never a traceback, which could print client data."""
    try:
        app()
    except KeyboardInterrupt:
        _stderr("osteocheck: interrupted")
        sys.exit(130)
    except OSError:
        raise  # standard output failed (full, closed, broken pipe): the entry point says so in one line
    except Exception as exc:  # noqa: BLE001 - last line of defence; details stay out of sight
        _stderr(f"osteocheck: internal error ({type(exc).__name__}); nothing was written. Please report it.")
        sys.exit(1)
