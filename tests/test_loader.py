"""The strict loader: hostile and broken knowledge files end in located errors, never a plan."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SHIPPED
from osteocheck.cli.app import app
from osteocheck.errors import KnowledgeError
from osteocheck.knowledge import loader as knowledge_module
from osteocheck.parsing import strict_yaml as strictyaml
from osteocheck.parsing.located import Document

TEXT = SHIPPED.read_text(encoding="utf-8")


def problems_of(tmp_path: Path, content: str | bytes) -> list[str]:
    path = tmp_path / "k.yaml"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    if not (tmp_path / "sources").exists():
        (tmp_path / "sources").symlink_to(SHIPPED.parent / "sources")
    knowledge, problems = knowledge_module.check(path)
    assert knowledge is None
    assert {p.file for p in problems} == {str(path)}
    return [f"{p.line}:{p.column}: {p.severity}: {p.message}" for p in problems]


def line_of(needle: str) -> int:
    return TEXT[: TEXT.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", ["1:1: error: file is empty"]),
        (b"\x00\x01binary", ["1:1: error: file holds a NUL byte: it is binary, not YAML"]),
        (b"id: \xff\n", ["1:5: error: file is not UTF-8 text"]),
        (b"a: 1\na: 2\n", ["2:1: error: duplicate key 'a'"]),
        (b"a: &x [1]\nb: *x\n", ["2:4: error: aliases (*name) are not allowed"]),
        (
            b"!!python/object/apply:os.system ['true']\n",
            ["1:1: error: tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"],
        ),
        (b"[" * 100_000, ["1:33: error: nesting deeper than 32 levels"]),
        (b"- " * 100_000 + b"x", ["1:65: error: nesting deeper than 32 levels"]),
        (b"- 1\n", ["1:1: error: a knowledge file must be a mapping of sections (id, version, title, rules, ...)"]),
        (
            b"id: x\nversion: '1'\ntitle: t\ncolour: red\n",
            [
                "4:1: error: unknown key 'colour'; allowed: id, version, title, extends, sources, summary, goals, signs, pressure_scale, bone_density, sites, at_risk_source, facts, techniques, positioning, assessment, self_care, rules"
            ],
        ),
        (
            b"id: x\nversion: '1'\ntitle: t\n",
            ["1:1: error: missing section 'assessment' (a file without 'extends' must be complete)"],
        ),
        (b"id: [x\n", ["2:1: error: not valid YAML: did not find expected ',' or ']'"]),
    ],
)
def test_hostile_and_broken_files(tmp_path: Path, content: bytes, expected: list[str]) -> None:
    assert problems_of(tmp_path, content)[: len(expected)] == expected


def test_oversized_file_is_refused_quickly(tmp_path: Path) -> None:
    start = time.perf_counter()
    found = problems_of(tmp_path, b"#" * (5 * 1024 * 1024))
    assert found == ["1:1: error: file is 4,194,305 bytes; the limit is 4,194,304 bytes"]
    assert time.perf_counter() - start < 5


def test_unknown_key_is_located_and_suggests(tmp_path: Path) -> None:
    text = TEXT.replace(
        '    severity: critical\n    text: "Deep kneading',
        '    severity: critical\n    sevrity: info\n    text: "Deep kneading',
        1,
    )
    found = problems_of(tmp_path, text)
    line = line_of('    severity: critical\n    text: "Deep kneading') + 1
    assert found[0].startswith(f"{line}:5: error: unknown key 'sevrity' (did you mean 'severity'?)")


def test_all_semantic_problems_reported_together(tmp_path: Path) -> None:
    text = (
        TEXT.replace("exclude: [deep_kneading,", "exclude: [deep_kneeding,")
        .replace("  - id: no_deep_pressure", "  - id: support_positioning")
        .replace("sites: [spine]\n", "sites: [spin]\n")
    )
    found = problems_of(tmp_path, text)
    messages = [f.split(": ", 2)[2] for f in found]
    assert "unknown technique 'deep_kneeding' (did you mean 'deep_kneading'?)" in messages
    assert "duplicate rule id 'support_positioning'" in messages
    assert "unknown site 'spin' (did you mean 'spine'?)" in messages


def test_restriction_without_source_is_an_error(tmp_path: Path) -> None:
    text = TEXT.replace(
        '    source: {ref: text, quote: "Exclude techniques such as deep kneading, muscle stripping, friction, joint mobilization, or forceful stretching"}\n    effects:',
        "    effects:",
    )
    found = problems_of(tmp_path, text)
    assert any("missing required key 'source'" in f for f in found)


def test_load_raises_with_every_error(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        knowledge_module.load(path)
    assert str(err.value).startswith(f"{path}:1:1: error: missing required key 'id'")


def write_layer(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "clinic.yaml"
    path.write_text('extends: shipped\nid: clinic\nversion: "7"\ntitle: Clinic\n' + body, encoding="utf-8")
    return path


QUOTE = '"Modify techniques if the client is on anticoagulants, corticosteroids, or has fragile skin."'


def rule(
    rule_id: str, extra: str = "", effects: str = "{max_pressure: 1}", source: str = f"{{ref: text, quote: {QUOTE}}}"
) -> str:
    return f"  - id: {rule_id}\n    when: anticoagulants\n    severity: warning\n    text: t\n{extra}    source: {source}\n    effects: {effects}\n"


def messages(path: Path) -> list[str]:
    return [f"{p.line}:{p.column}: {p.severity}: {p.message}" for p in knowledge_module.check(path)[1]]


def test_layered_file_takes_its_own_identity_and_keeps_later_entries(tmp_path: Path) -> None:
    path = write_layer(tmp_path, "rules:\n" + rule("stricter_on_anticoagulants"))
    layered = knowledge_module.load(path)
    assert (layered.id, layered.version, layered.title) == ("clinic", "7", "Clinic")
    assert layered.rules[-1].id == "stricter_on_anticoagulants"
    assert layered.path == str(path)


def test_every_entry_after_a_redefinition_is_still_checked(tmp_path: Path) -> None:
    body = "rules:\n" + rule("no_deep_pressure") + rule("bad_reference", effects="{exclude: [nothing]}")
    assert messages(write_layer(tmp_path, body)) == [
        f"6:5: error: 'no_deep_pressure' is already defined in {knowledge_module.shipped_path()}: a layered file may only add, never redefine, loosen or remove shipped knowledge",
        "17:25: error: unknown technique 'nothing'",
    ]


def test_unknown_source_and_basis_warnings(tmp_path: Path) -> None:
    body = (
        "rules:\n"
        + rule("a", source='{ref: txt, quote: "x"}')
        + rule("b", extra="    basis: inferred\n")
        + rule("c", extra="    rationale: because\n")
    )
    assert messages(write_layer(tmp_path, body)) == [
        "10:14: error: unknown source 'txt' (did you mean 'text'?)",
        "16:5: error: an inferred entry needs a 'rationale' saying why it follows from its source",
        "23:5: warning: a rationale is given but 'basis' is not 'inferred'",
    ]


def test_a_quote_cut_inside_a_word_or_from_a_file_that_cannot_be_read_stops_the_file(tmp_path: Path) -> None:
    cut = '{ref: text, quote: "odify techniques if the client is on anticoagulants"}'  # "Modify ...", cut
    ends_cut = '{ref: text, quote: "Modify techniques if the client is on anticoag"}'
    whole = '{ref: text, quote: "techniques if the client is on anticoagulants"}'
    body = "rules:\n" + rule("a", source=cut) + rule("b", source=ends_cut) + rule("c", source=whole)
    said = (
        "error: quote begins or ends inside a word of source file sources/000_360acb9329b9f714.txt: quote whole words"
    )
    assert [m for m in messages(write_layer(tmp_path, body)) if "quote" in m] == [f"10:25: {said}", f"16:25: {said}"]
    lost = tmp_path / "lost.yaml"
    lost.write_text(
        write_layer(tmp_path, "").read_text(encoding="utf-8")
        + "sources:\n  - {id: notes, title: Notes, file: notes.txt}\nrules:\n"
        + rule("d", source='{ref: notes, quote: "x"}'),
        encoding="utf-8",
    )
    assert "error: source file notes.txt cannot be read: its quotes cannot be checked" in " ".join(messages(lost))
    with pytest.raises(KnowledgeError):
        knowledge_module.load(lost)


def test_inference_is_recorded_only_for_inferred_entries(tmp_path: Path) -> None:
    body = "rules:\n" + rule("quoted") + rule("inferred", extra="    basis: inferred\n    rationale: why\n")
    rules = {r.id: r for r in knowledge_module.load(write_layer(tmp_path, body)).rules}
    assert rules["quoted"].basis.inference is None
    assert rules["inferred"].basis.inference == "why"
    assert rules["quoted"].basis.source.title == "Osteoporosis Massage (primary clinical text)"


def test_a_file_with_warnings_says_so_wherever_it_is_used(tmp_path: Path) -> None:
    layer = write_layer(tmp_path, "rules:\n" + rule("c", extra="    rationale: because\n"))
    assert knowledge_module.load(layer).warnings == 1 and knowledge_module.load(SHIPPED).warnings == 0
    result = CliRunner().invoke(app, ["plan", "--rules", str(layer), "--kyphosis", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["proceed"] == "yes"
    assert result.stderr == f"osteocheck: {layer}: 1 warning(s); osteocheck validate {layer} lists them\n"
    assert CliRunner().invoke(app, ["plan", "--kyphosis"]).stderr == ""


def test_where_the_knowledge_comes_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OSTEOCHECK_RULES", raising=False)
    assert knowledge_module.shipped_path().is_file()
    assert knowledge_module.resolve_path(None) == knowledge_module.shipped_path()
    monkeypatch.setenv("OSTEOCHECK_RULES", str(tmp_path / "env.yaml"))
    assert knowledge_module.resolve_path(None) == tmp_path / "env.yaml"
    assert knowledge_module.resolve_path(str(tmp_path / "flag.yaml")) == tmp_path / "flag.yaml"
    monkeypatch.setenv("OSTEOCHECK_RULES", "")
    assert knowledge_module.resolve_path(None) == knowledge_module.shipped_path()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"base: &b {a: 1}\nx:\n  <<: *b\n", "3:3: error: merge keys (<<) are not allowed"),
        (b"x:\n  <<: {a: 1}\n", "2:3: error: merge keys (<<) are not allowed"),
        (b"when: 2024-01-01\n", "1:7: error: '2024-01-01' reads as a date; put it in quotes to make it text"),
        (b"a: !!binary aGk=\n", "1:4: error: tag 'tag:yaml.org,2002:binary' is not allowed"),
        (b"a: !!set {x: 1}\n", "1:4: error: tag 'tag:yaml.org,2002:set' is not allowed"),
        (b"a: !custom 1\n", "1:4: error: tag '!custom' is not allowed"),
        (b"a: \x07", "1:1: error: not valid YAML: unacceptable character #x0007: control characters are not allowed"),
        (b"? [a]\n: 1\n", "1:3: error: mapping keys must be text"),
        (b"{1: 2}", "1:2: error: mapping keys must be text"),
        (b"a: 1\n---\nb: 2\n", "2:1: error: only one YAML document is allowed"),
        (b"a: 1\nb: 2\nc: '\xff'\n", "3:5: error: file is not UTF-8 text"),
        (b"a: 1\n\x00\n\x00", "2:1: error: file holds a NUL byte: it is binary, not YAML"),
        (b"#" * (4 * 1024 * 1024), "1:1: error: file is empty"),
    ],
)
def test_more_refused_yaml(tmp_path: Path, content: bytes, expected: str) -> None:
    assert problems_of(tmp_path, content)[:1] == [expected]


def test_scalars_keep_their_yaml_types() -> None:
    doc = strictyaml.load(b"a: 1\nb: 1.5\nc: true\nd: null\ne: \"12\"\nf: ! 12\ng: 'x'\nh: [1, two]\n", "t.yaml")
    assert doc.data == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "12", "f": 12, "g": "x", "h": [1, "two"]}
    assert doc.marks[("h", 1)] == (8, 8)
    assert doc.where(("h", 1, "deeper")) == (8, 8)
    assert doc.where(("missing",)) == (1, 1)
    assert Document({}, "f").where(("x",)) == (1, 1)


def test_layering_over_a_base_without_optional_sections(tmp_path: Path) -> None:
    base = TEXT.replace(TEXT[TEXT.index("goals:\n") : TEXT.index("signs:\n")], "")
    (tmp_path / "sources").symlink_to(SHIPPED.parent / "sources")
    (tmp_path / "base.yaml").write_text(base, encoding="utf-8")
    top = tmp_path / "top.yaml"
    top.write_text(
        'extends: base.yaml\nid: top\nversion: "1"\ntitle: Top\nrules:\n'
        + rule("both_needed", effects="{exclude: [light_effleurage]}").replace(
            "when: anticoagulants", "when: {all: [anticoagulants, kyphosis]}"
        ),
        encoding="utf-8",
    )
    layered = knowledge_module.load(top)
    assert layered.goals == ()
    from osteocheck.client.profile import build
    from osteocheck.engine.evaluate import evaluate

    def status(**raw: object) -> str:
        return evaluate(build(raw, layered, usage=True), layered).verdict("light_effleurage").status.value

    assert (status(anticoagulants=True), status(kyphosis=True), status(anticoagulants=True, kyphosis=True)) == (
        "safe",
        "safe",
        "excluded",
    )


def test_unless_cleared_with_only_a_ban_is_valid(tmp_path: Path) -> None:
    extra = "    for_each: open_wounds\n    unless_cleared: true\n"
    path = write_layer(
        tmp_path,
        "rules:\n"
        + rule("ban_only", extra=extra, effects="{no_treatment: true}").replace("    when: anticoagulants\n", ""),
    )
    assert messages(path) == []


def test_positions_fall_back_to_the_document_start() -> None:
    doc = strictyaml.load(b"# comment\n\na: 1\n", "t.yaml")
    assert doc.where(("missing", 3)) == (3, 1)


def test_extending_itself_or_a_chain_is_refused(tmp_path: Path) -> None:
    me = tmp_path / "me.yaml"
    me.write_text('extends: me.yaml\nid: me\nversion: "1"\ntitle: Me\n', encoding="utf-8")
    assert messages(me) == ["1:1: error: a knowledge file cannot extend itself"]
    (tmp_path / "base.yaml").write_text('extends: shipped\nid: base\nversion: "1"\ntitle: Base\n', encoding="utf-8")
    top = tmp_path / "top.yaml"
    top.write_text('extends: base.yaml\nid: top\nversion: "1"\ntitle: Top\n', encoding="utf-8")
    _, problems = knowledge_module.check(top)
    assert [(p.file, p.line, p.column, p.message) for p in problems] == [
        (str(tmp_path / "base.yaml"), 1, 1, "a base knowledge file cannot itself extend another")
    ]


def test_unreadable_knowledge_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    _, problems = knowledge_module.check(missing)
    assert [str(p) for p in problems] == [
        f"{missing}:1:1: error: cannot read knowledge file: No such file or directory"
    ]


def test_a_technique_above_the_cap_is_modified_with_the_cap_in_words(tmp_path: Path) -> None:
    technique = (
        "techniques:\n  - id: cupping\n    name: Cupping\n    category: adjunct\n    description: Suction.\n"
        f"    pressure: 3\n    source: {{ref: text, quote: {QUOTE}}}\n"
    )
    layered = knowledge_module.load(
        write_layer(tmp_path, technique + "rules:\n" + rule("named", effects="{modify: {cupping: Gently.}}"))
    )
    from osteocheck.client.profile import build
    from osteocheck.engine.evaluate import evaluate

    verdict = evaluate(build({}, layered, usage=True), layered).verdict("cupping")
    assert verdict.status.value == "modify"
    assert verdict.modifications == ("Keep to pressure level 2 (heavy lotioning) or lighter.",)
    assert [r.rule for r in verdict.reasons] == ["gentle_pressure_in_osteoporosis"]
