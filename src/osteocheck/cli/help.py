"""`osteocheck --help` without loading Typer: the text Click prints on a terminal of 80 columns or more.

Click caps its help at 80 columns, so on any wider terminal the text is fixed; narrower ones go to
Typer. tests/test_speed_paths.py checks this is exactly what Typer prints (and fails with the new
text when a command or its docstring changes).
"""

from __future__ import annotations

import shutil

TEXT = """\
Usage: osteocheck [OPTIONS] COMMAND [ARGS]...

  Contraindication checker for massage therapy with clients who live with
  osteoporosis.

Options:
  --version             Show the version and exit.
  --install-completion  Install completion for the current shell.
  --show-completion     Show completion for the current shell, to copy it or
                        customize the installation.
  -h, --help            Show this message and exit.

Commands:
  plan            The session plan: go-ahead, where not to touch, techniques
  excluded        Only the techniques that must not be used, with reasons
  techniques      The technique catalogue, with descriptions and pressures
  explain         Why a technique got its verdict: rules, facts, sources
  selfcare        The client's self-care sheet (Markdown, HTML or PDF)
  assess          The assessment checklist for this client
  letter          A letter to the client's physician
  validate        Check knowledge files: every problem with its line
  schema          The JSON Schema of the knowledge file, for editors
  config          The settings in effect and where each comes from
  batch           Screen many profiles, or a FHIR Bulk Data export
  intake          Ask the profile questions and write a profile file
  serve           A CDS Hooks 2.0 service for clinic software
  profile-schema  The JSON Schema of a client profile file
"""


def top_help() -> str | None:
    """The help text, or None where Click would wrap it differently (a terminal under 80 columns)."""
    return TEXT if shutil.get_terminal_size().columns >= 80 else None
