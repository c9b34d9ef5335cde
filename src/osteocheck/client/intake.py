"""The intake interview: the profile questions one at a time, in the order a therapist asks them.

Pure of any terminal library: it reads answers through `ask(prompt) -> str`
(raising EOFError when input ends) and writes through `say(text)`, so it runs
the same on a terminal and from a script, and tests can drive it directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from osteocheck.engine.model import Knowledge
from osteocheck.vocabulary import STAGES, T_SCORE_RANGE
from osteocheck.words import decimal_point_hint, suggest

Ask = Callable[[str], str]
Say = Callable[[str], None]
MAX_TRIES = 5


class Question(NamedTuple):
    key: str
    prompt: str
    help: str
    kind: str  # text | stage | t_score | bool | sites


_SITES_HELP = "Sites, separated by commas; Enter for none."
_FIRST: tuple[Question, ...] = (
    Question("name", "Client's name", "Shown on the exports; Enter to leave it out.", "text"),
    Question(
        "stage",
        "Diagnosis stage",
        "osteopenia, osteoporosis or severe (with fragility fracture); Enter if unknown.",
        "stage",
    ),
    Question("t_score", "Bone density T-score", "From the latest DXA report, e.g. -2.7; Enter if unknown.", "t_score"),
)
_CLEARED = Question(
    "cleared", "Sites the physician has cleared for treatment", "Only with written clearance; Enter for none.", "sites"
)


def questions(knowledge: Knowledge) -> tuple[Question, ...]:
    """Name and stage first, then every risk factor the knowledge declares, in its order, then clearance."""
    asked = tuple(
        Question(f.id, f.question, f.help or (_SITES_HELP if f.per_site else ""), "sites" if f.per_site else "bool")
        for f in knowledge.facts
    )
    return (*_FIRST, *asked, _CLEARED)


class IntakeAborted(Exception):
    """The interview ended before the profile was confirmed; nothing may be written."""


def _default_text(kind: str, value: object) -> str:
    if value in (None, "", [], ()):
        return "no" if kind == "bool" else ""
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "sites" and isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def parse_answer(q: Question, answer: str, sites: tuple[str, ...]) -> tuple[object, str]:
    """(value, problem): problem is empty when the answer is acceptable."""
    text = answer.strip()
    if q.kind == "text":
        return (text or None), ""
    if q.kind == "bool":
        low = text.lower()
        if low in ("y", "yes", "true", "1"):
            return True, ""
        if low in ("", "n", "no", "false", "0"):
            return False, ""
        return None, "answer yes or no"
    if q.kind == "stage":
        if not text or text.lower() in ("unknown", "?"):
            return None, ""
        if text.lower() not in STAGES:
            return None, f"'{text}' is not a stage{suggest(text.lower(), STAGES)}; allowed: {', '.join(STAGES)}"
        return text.lower(), ""
    if q.kind == "t_score":
        if not text:
            return None, ""
        try:
            number = float(text.replace("−", "-"))
        except ValueError:
            return None, f"'{text}' is not a number{decimal_point_hint(text) or '; e.g. -2.7'}"
        lowest, highest = T_SCORE_RANGE
        if not lowest <= number <= highest:
            return None, f"a T-score lies between {lowest:g} and {highest:g}"
        return number, ""
    chosen = [s.strip().lower() for s in text.replace(";", ",").split(",") if s.strip()]
    if chosen in (["none"], ["no"]):
        return [], ""
    bad = [s for s in chosen if s not in sites]
    if bad:
        return None, f"unknown site '{bad[0]}'{suggest(bad[0], sites)}; allowed: {', '.join(sites)}"
    return [s for s in sites if s in chosen], ""


def _contradiction(stage: object, t_score: object, knowledge: Knowledge) -> str:
    """A T-score that contradicts the stage already given, said at the question rather than after the last one."""
    from osteocheck.engine.model import Profile  # noqa: PLC0415
    from osteocheck.engine.stage import stage_of  # noqa: PLC0415
    from osteocheck.errors import ProfileError  # noqa: PLC0415

    if not isinstance(stage, str) or not isinstance(t_score, float):
        return ""
    try:
        stage_of(Profile(stage=stage, t_score=t_score), knowledge, usage=False)
    except ProfileError as exc:
        return exc.messages[0].replace("'t_score' ", "T-score ").replace("'stage' ", "stage ")
    return ""


def interview(ask: Ask, say: Say, knowledge: Knowledge, start: dict[str, object] | None = None) -> dict[str, object]:
    """Ask every question, re-asking a bad answer; return the confirmed profile (as plain data)."""
    answers: dict[str, object] = dict(start or {})
    sites = knowledge.site_ids
    asked = questions(knowledge)
    say("Client intake: answer each question, or press Enter to keep the value in [brackets].")
    for q in asked:
        default = _default_text(q.kind, answers.get(q.key))
        hint = " ".join(filter(None, [q.help, f"Sites: {', '.join(sites)}." if q.kind == "sites" else ""]))
        say("")
        if hint:
            say(f"  {hint}")
        problem = ""
        for _ in range(MAX_TRIES):
            raw = ask(f"{q.prompt} [{default}]: ")
            if problem and not raw.strip() and q.kind == "sites":
                # after a mistyped site, Enter must not quietly mean "none": a typo never gives a quieter plan
                say("  Type the sites again, or 'none' if there are none.")
                continue
            value, problem = parse_answer(q, raw if raw.strip() else default, sites)
            if not problem and q.key == "t_score" and value is not None:
                problem = _contradiction(answers.get("stage"), value, knowledge)
            if not problem:
                break
            say(f"  {problem}; please try again.")
        else:
            raise IntakeAborted(f"no valid answer to '{q.prompt}' after {MAX_TRIES} tries")
        if value in (None, False, []):
            answers.pop(q.key, None)
        else:
            answers[q.key] = value
    say("")
    say("Summary:")
    for q in asked:
        if q.key in answers:
            say(f"  {q.prompt.rstrip('?')}: {_default_text(q.kind, answers[q.key])}")
    if not answers:
        say("  nothing set: the plan will assume osteoporosis with no other risk factor")
    confirm = ask("Write this profile? [Y/n]: ").strip().lower()
    if confirm not in ("", "y", "yes"):
        raise IntakeAborted("not confirmed")
    return answers


def to_yaml(profile: dict[str, object], knowledge: Knowledge) -> str:
    """The profile as YAML, keys in question order; every string quoted (JSON strings are valid YAML)."""
    import json  # noqa: PLC0415

    lines = ["# osteocheck client profile (see `osteocheck profile-schema`)"]
    keys = [q.key for q in questions(knowledge)]
    order = keys + [k for k in profile if k not in keys]
    for key in order:
        if key in profile:
            lines.append(f"{key}: {json.dumps(profile[key], ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
