"""Command-line options shared by the commands, defined once.

`client_options` adds the contract's profile flags to a command, so every
command that evaluates a client takes exactly the same ones.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from osteocheck.client.sources import ClientSources
from osteocheck.vocabulary import BOOL_FACTS, ENV_VAR, STAGES

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "markdown")
PLAN_FORMATS = (*FORMATS, "fhir")  # a plan can also be a FHIR Bundle for the record


def _complete_sites(incomplete: str) -> list[str]:
    from osteocheck.knowledge import loader as knowledge  # noqa: PLC0415 - only when the shell asks for completions

    try:
        sites = knowledge.load(knowledge.resolve_path(None)).site_ids
    except Exception:  # noqa: BLE001 - completion must never crash the shell
        return []
    return [s for s in sites if s.startswith(incomplete)]


def complete_techniques(incomplete: str) -> list[str]:
    """Technique ids of the knowledge in use, for the shell (never an error: completion must not crash it)."""
    from osteocheck.knowledge import loader as knowledge  # noqa: PLC0415

    try:
        ids = knowledge.load(knowledge.resolve_path(None)).technique_ids
    except Exception:  # noqa: BLE001
        return []
    return [t for t in ids if t.startswith(incomplete)]


def _complete(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    return lambda incomplete: [c for c in choices if c.startswith(incomplete)]


Rules = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        envvar=ENV_VAR,
        help="Knowledge file to use instead of the shipped one (also $OSTEOCHECK_RULES).",
        show_default=False,
        dir_okay=False,
    ),
]
Format = Annotated[
    str,
    typer.Option("--format", "-f", help="Output: table, json or markdown.", autocompletion=_complete(FORMATS)),
]
PlanFormat = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="Output: table, json, markdown or fhir (an R4 Bundle; with --output: by its extension, else table).",
        autocompletion=_complete(PLAN_FORMATS),
        show_default=False,
    ),
]
Output = Annotated[
    str, typer.Option("--output", "-o", metavar="FILE", help="Where to write; - (the default) is standard output.")
]
ViewFormat = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="Output: table, json or markdown (default: the config's format, else table).",
        autocompletion=_complete(FORMATS),
        show_default=False,
    ),
]
Details = Annotated[
    bool | None,
    typer.Option(
        "--details/--short",
        help="The full plan (every reason, rule id and source), or the one-screen plan (default; see osteocheck config).",
        show_default=False,
    ),
]
Force = Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists (written atomically either way).")]
Fhir = Annotated[
    Path | None,
    typer.Option(
        "--fhir",
        metavar="BUNDLE",
        help="FHIR R4 Bundle (JSON) to derive the profile from; - reads stdin.",
        dir_okay=False,
        allow_dash=True,
    ),
]
Patient = Annotated[
    str | None,
    typer.Option(
        "--patient", metavar="ID", help="Which Patient of a --fhir record that holds several.", show_default=False
    ),
]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="Judge the --fhir record at this date (default: its timestamp).",
        show_default=False,
    ),
]
Session = Annotated[
    str | None,
    typer.Option(
        "--session",
        metavar="YYYY-MM-DD",
        help="The session's day, not before the --fhir record's: a DXA T-score must still be current on it.",
        show_default=False,
    ),
]
Client = Annotated[str | None, typer.Option("--client", help="Client's name for the document.", show_default=False)]
Therapist = Annotated[str | None, typer.Option("--therapist", help="Your name for the document.", show_default=False)]
Physician = Annotated[str | None, typer.Option("--physician", help="The physician's name.", show_default=False)]
When = Annotated[
    str | None,
    typer.Option("--date", metavar="YYYY-MM-DD", help="Date on the document (default: today).", show_default=False),
]
DocFormat = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="markdown, html or pdf (default: by the file's extension, else markdown).",
        show_default=False,
    ),
]
ProfileFile = Annotated[
    Path | None,
    typer.Option("--profile", "-p", help="Client profile file (YAML or JSON); flags add to it.", dir_okay=False),
]


# The contract's words for its yes/no facts, so --help needs no knowledge file.
_HELP = {
    "fracture_history": "Has had fragility fractures.",
    "anticoagulants": "Takes blood thinners (anticoagulants or antiplatelets).",
    "corticosteroids": "Takes corticosteroids.",
    "fragile_skin": "Has fragile skin.",
    "kyphosis": "Rounded upper back.",
    "height_loss": "Has lost height.",
    "balance_issues": "Reduced balance / fall risk.",
    "fever": "Fever, or an infection that affects the whole body.",
    "new_back_pain": "Sudden or new back pain, or recent height loss (possible new vertebral fracture).",
}


def facts_given(values: list[str]) -> dict[str, object]:
    """`--fact NAME` sets a yes/no fact; `--fact NAME=SITE` adds a site to a per-site one."""
    given: dict[str, object] = {}
    for value in values:
        name, has_site, site = value.partition("=")
        name = name.strip().replace("-", "_")
        if has_site:
            listed = given.setdefault(name, [])
            if isinstance(listed, list):
                listed.append(site.strip())
            else:
                given[name] = [site.strip()]
        else:
            given.setdefault(name, True)
    return given


def _site_option(flag: str, help_text: str) -> Any:
    return Annotated[
        list[str] | None,
        typer.Option(flag, metavar="SITE", help=help_text, autocompletion=_complete_sites, show_default=False),
    ]


_CLIENT_PARAMS: list[tuple[str, Any, Any]] = [
    (
        "stage",
        Annotated[
            str | None,
            typer.Option(
                "--stage",
                help="osteopenia, osteoporosis or severe (default: osteoporosis, stated as assumed).",
                autocompletion=_complete(STAGES),
                show_default=False,
            ),
        ],
        None,
    ),
    (
        "t_score",
        Annotated[
            float | None,
            typer.Option("--t-score", help="Bone density T-score; sets the stage (WHO).", show_default=False),
        ],
        None,
    ),
    ("fresh_fractures", _site_option("--fresh-fracture", "Unhealed fracture at SITE (repeatable)."), None),
    ("open_wounds", _site_option("--open-wound", "Open wound at SITE (repeatable)."), None),
    ("active_infections", _site_option("--active-infection", "Active infection at SITE (repeatable)."), None),
    ("post_surgical", _site_option("--post-surgical", "Post-surgical site (repeatable)."), None),
    ("dvt", _site_option("--dvt", "Known or suspected deep-vein thrombosis (clot) in the limb at SITE."), None),
    ("cancer_in_bone", _site_option("--cancer-in-bone", "Cancer in or spread to the bone at SITE."), None),
    ("cleared", _site_option("--cleared", "Physician has cleared treatment over SITE (repeatable)."), None),
    *(
        (fact, Annotated[bool, typer.Option("--" + fact.replace("_", "-"), help=_HELP[fact])], False)
        for fact in BOOL_FACTS
    ),
    (
        "fact",
        Annotated[
            list[str] | None,
            typer.Option(
                "--fact",
                metavar="NAME[=SITE]",
                help="A risk factor the knowledge file declares, e.g. --fact dvt=legs (repeatable).",
                show_default=False,
            ),
        ],
        None,
    ),
]


def client_options(func: F) -> F:
    """Give `func` the contract's profile flags; it receives them as `client: ClientSources`."""
    names = [name for name, _, _ in _CLIENT_PARAMS]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given: dict[str, object] = {}
        for name in names:
            value = kwargs.pop(name)
            if name == "fact":
                for key, extra in facts_given(value or []).items():
                    old = given.get(key)
                    given[key] = [*old, *extra] if isinstance(old, list) and isinstance(extra, list) else extra
            elif value not in (None, False, []):
                given[name] = value
        files = {key: kwargs.pop(key) for key in ("profile_file", "fhir_file", "patient", "as_of", "session")}
        return func(*args, client=ClientSources(given, **files), **kwargs)

    own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "client"]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, annotation, default in [
            *_CLIENT_PARAMS,
            ("profile_file", ProfileFile, None),
            ("fhir_file", Fhir, None),
            ("patient", Patient, None),
            ("as_of", AsOf, None),
            ("session", Session, None),
        ]
    ]
    wrapper.__signature__ = inspect.Signature([*own, *extra])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *extra]}
    return wrapper  # type: ignore[return-value]
