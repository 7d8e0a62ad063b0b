"""Reading hand-written YAML (specs, platform config) safely and with line numbers.

Specs are loaded with ruamel.yaml's round-trip loader, which keeps every key's line so
errors can say `customers/acme.yaml:7: image.tag: ...`. Hand-written input is hostile
until proven otherwise: duplicate keys, aliases (the "billion laughs" bomb), tags, huge
files, deep nesting, non-UTF-8 bytes, NUL characters and surrogate escapes are refused
before anything else looks at the data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent
from ruamel.yaml.reader import ReaderError

from gitops_gen.errors import InputError
from gitops_gen.handwritten import read_text

MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_BLOCK_ENTRY = re.compile(r"(?<!\S)-(?=\s|\Z)")  # `- item`, as YAML's grammar has it

PathPart = str | int


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed YAML mapping, plus where each of its nodes came from."""

    display: str  # repo-relative path used in messages
    data: CommentedMap

    def line_of(self, path: Sequence[PathPart]) -> int | None:
        """1-based line of the node at `path`, or of its nearest ancestor that has one."""
        return line_of(self.data, path)


def round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def parse_mapping(text: str, display: str) -> LoadedYaml:
    """Parse one YAML document that must be a mapping; every problem is an InputError."""
    with _yaml_errors(display, text):
        if _may_hide_anything(text):
            _check_events(text, display)
        data = round_trip_yaml().load(text)
    if data is None:
        raise InputError(f"{display}: file is empty")
    if not isinstance(data, CommentedMap):
        raise InputError(f"{display}:1: expected a mapping at the top level")
    _check_nodes(data, display)
    return LoadedYaml(display, data)


@contextmanager
def _yaml_errors(display: str, text: str) -> Iterator[None]:
    """ruamel's exceptions → InputErrors naming file and line."""
    try:
        yield
    except DuplicateKeyError as exc:
        raise InputError(_marked(display, exc, "duplicate key")) from None
    except MarkedYAMLError as exc:
        raise InputError(_marked(display, exc, "malformed YAML")) from None
    except ReaderError as exc:  # a character YAML forbids, e.g. a raw NUL byte
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise InputError(f"{display}:{line}: malformed YAML: character U+{exc.character:04X} "
                         "is not allowed in YAML") from None
    except YAMLError as exc:
        raise InputError(f"{display}: malformed YAML: {exc}") from None


def load_mapping(path: Path, display: str) -> LoadedYaml:
    return parse_mapping(read_text(path, display), display)


def _may_hide_anything(text: str) -> bool:
    """Whether `_check_events` could refuse `text` — False only when it cannot: anchors,
    aliases and tags need `&`, `*`, `!`, and every level of nesting needs a collection of
    its own, each started by a character counted here (`:` or `?` for a mapping, `-`
    for a block sequence, `[` or `{`; a `[` may hold a one-pair mapping too). A spec
    passes this in microseconds; scanning its events would cost ~1 ms (10 s for 10,000
    customers)."""
    if "&" in text or "*" in text or "!" in text:
        return True
    starts = text.count(":") + text.count("?") + 2 * text.count("[") + text.count("{")
    return starts + len(_BLOCK_ENTRY.findall(text)) >= MAX_DEPTH


def _check_events(text: str, display: str) -> None:
    """Refuse, from the event stream and before any node is built, what a spec never
    needs and an attacker would use: anchors and aliases (the "billion laughs" bomb),
    explicit tags (`!!python/object`, `!!binary`: values change type behind the schema's
    back) and deep nesting. It must come first: ruamel builds nodes recursively, so
    10,000 nested `[` would end in a RecursionError; events stop at the first refusal."""
    depth = 0
    for event in YAML(typ="rt").parse(text):
        line = event.start_mark.line + 1 if event.start_mark else None
        where = f"{display}:{line}" if line else display
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise InputError(f"{where}: YAML anchors and aliases are not allowed (&{anchor})")
        if getattr(event, "tag", None) is not None:
            raise InputError(f"{where}: YAML tags are not allowed ({event.tag}); "
                             "quote the value to make it a string")
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"{where}: nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def _check_nodes(root: CommentedMap, display: str) -> None:
    """Keys are scalars and strings are text every consumer can take (the depth is
    bounded by `_check_events`, so this recursion is too). Values are never echoed."""

    def refuse(path: list[PathPart], problem: str) -> InputError:
        line = line_of(root, path)
        field = ".".join(str(p) for p in path) or "<top>"
        return InputError(f"{display}{f':{line}' if line else ''}: {field}: {problem}")

    def walk(node: Any, path: list[PathPart]) -> None:
        if isinstance(node, dict):
            seen: set[str] = set()
            for key, value in node.items():
                if isinstance(key, Mapping | tuple | list | set):
                    raise refuse(path, "a mapping key must be a plain scalar, not a collection")
                if isinstance(key, str) and (problem := _text_problem(key)):
                    raise refuse(path, f"a key {problem}")
                if _key_text(key) in seen:  # `1:` and `"1":` are one key to Helm
                    raise refuse([*path, key], "this key appears twice, spelled differently")
                seen.add(_key_text(key))
                walk(value, [*path, key])
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, [*path, index])
        elif isinstance(node, str) and (problem := _text_problem(node)):
            raise refuse(path, problem)

    walk(root, [])


def _text_problem(text: str) -> str | None:
    if "\0" in text:
        return ("contains a NUL character (\\0), which no environment variable, file name "
                "or Kubernetes field can hold")
    if _SURROGATE.search(text):
        return ("contains a UTF-16 surrogate escape (\\ud800-\\udfff), which is not a "
                "character: write the character itself, or escape it as \\U0001F600")
    return None


def _marked(display: str, exc: MarkedYAMLError, what: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = exc.problem or exc.context or ""
    if isinstance(exc, DuplicateKeyError):
        # ruamel's message quotes both values; a value may be a secret, so name only the key
        key = re.search(r'duplicate key "(.*?)" with value', exc.problem or "")
        problem = f'"{key.group(1)}" appears more than once' if key else "a key appears twice"
    return f"{display}{line}: {what}: {problem}".rstrip(": ")


def line_of(root: Any, path: Sequence[PathPart]) -> int | None:
    node = root
    line: int | None = getattr(getattr(root, "lc", None), "line", None)
    line = line + 1 if line is not None else None
    for part in path:
        found = _child_line(node, part)
        if found is None:
            break
        node, child_line = found
        if child_line is not None:
            line = child_line
    return line


def _child_line(node: Any, part: PathPart) -> tuple[Any, int | None] | None:
    if isinstance(node, CommentedMap) and part in node:
        pos = node.lc.key(part)
        return node[part], pos[0] + 1
    if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
        pos = node.lc.item(part)
        return node[part], pos[0] + 1
    return None


def to_plain(node: Any) -> Any:
    """ruamel's commented containers → plain dicts/lists (what schemas and templates see)."""
    if isinstance(node, dict):
        return {_key_text(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)  # drop ruamel's quoted-scalar subclasses
    return node


def _key_text(key: Any) -> str:
    """A mapping key as the string it was written as: `true:` is the key "true" (as Helm
    and Go's YAML see it), not Python's "True"."""
    if isinstance(key, bool) or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    return str(key)
