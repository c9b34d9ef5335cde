"""Strict YAML: text to plain data, with the position of every value.

Safe loading only (libyaml's C parser when present). The document is built from
the parser's event stream without recursion, so nesting depth is bounded before
anything can overflow a stack; aliases, merge keys, duplicate keys and any tag
beyond plain scalars, lists and mappings are refused.
"""

from __future__ import annotations

import yaml

from osteocheck.parsing.located import MAX_DEPTH, Document, Path, decode, fail

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


def load(raw: bytes, file: str) -> Document:
    """Parse one YAML document strictly; raise KnowledgeError with a location on any problem."""
    text = decode(raw, file)
    loader = _Loader(text)
    try:
        return _build(loader, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise fail(file, line, column, f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise fail(file, 1, 1, f"not valid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


class _Frame:
    __slots__ = ("container", "key", "key_at", "path")

    def __init__(self, container: dict[str, object] | list[object], path: Path) -> None:
        self.container = container
        self.path = path
        self.key: str | None = None
        self.key_at = (1, 1)


def _build(loader: yaml.SafeLoader, file: str) -> Document:
    doc = Document(data=None, file=file)
    stack: list[_Frame] = []
    root: list[object] = []
    documents = 0

    def pos(event: yaml.Event) -> tuple[int, int]:
        return _at(event)

    def place(value: object, event: yaml.Event) -> Path | None:
        """Put a value into the innermost container; return its path (None for a key)."""
        if not stack:
            root.append(value)
            doc.marks[()] = pos(event)
            return ()
        frame = stack[-1]
        if isinstance(frame.container, list):
            path = (*frame.path, len(frame.container))
            frame.container.append(value)
        elif frame.key is None:
            if not isinstance(value, str):
                raise fail(file, *pos(event), "mapping keys must be text")
            if value in frame.container:
                raise fail(file, *pos(event), f"duplicate key '{value}'")
            frame.key = value
            frame.key_at = pos(event)
            return None
        else:
            # A mapping entry is located at its key, where editors and readers look.
            path = (*frame.path, frame.key)
            frame.container[frame.key] = value
            frame.key = None
            doc.marks[path] = frame.key_at
            return path
        doc.marks[path] = pos(event)
        return path

    while True:
        event = loader.get_event()  # type: ignore[no-untyped-call]
        if event is None or isinstance(event, yaml.StreamEndEvent):
            break
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise fail(file, *pos(event), "only one YAML document is allowed")
        elif isinstance(event, yaml.AliasEvent):
            raise fail(file, *pos(event), "aliases (*name) are not allowed")
        elif isinstance(event, yaml.ScalarEvent):
            place(_scalar(loader, event, file), event)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            _check_collection_tag(event, file)
            if len(stack) >= MAX_DEPTH:
                raise fail(file, *pos(event), f"nesting deeper than {MAX_DEPTH} levels")
            container: dict[str, object] | list[object] = [] if isinstance(event, yaml.SequenceStartEvent) else {}
            path = place(container, event)
            if path is None:
                raise fail(file, *pos(event), "mapping keys must be text")
            stack.append(_Frame(container, path))
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            stack.pop()
    if not root:
        raise fail(file, 1, 1, "file is empty")
    doc.data = root[0]
    return doc


def _at(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _check_collection_tag(event: yaml.CollectionStartEvent, file: str) -> None:
    allowed = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map", "!", None)
    if event.tag not in allowed:
        raise fail(file, *_at(event), f"tag '{event.tag}' is not allowed")


def _scalar(loader: yaml.SafeLoader, event: yaml.ScalarEvent, file: str) -> object:
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    line, column = _at(event)
    if tag == "tag:yaml.org,2002:merge":
        raise fail(file, line, column, "merge keys (<<) are not allowed")
    if tag == "tag:yaml.org,2002:timestamp":
        raise fail(file, line, column, f"'{event.value}' reads as a date; put it in quotes to make it text")
    if tag not in _SCALAR_TAGS:
        raise fail(file, line, column, f"tag '{tag}' is not allowed")
    node = yaml.ScalarNode(tag, event.value, None, None, event.style)
    return loader.construct_object(node)
