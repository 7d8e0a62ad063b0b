"""Reading hand-written YAML (specs, platform config) safely and with line numbers.

Specs are loaded with ruamel.yaml's round-trip loader, which keeps every key's line so
errors can say `customers/acme.yaml:7: image.tag: ...`. Hand-written input is hostile
until proven otherwise: duplicate keys, aliases (the "billion laughs" bomb), huge files,
deep nesting and non-UTF-8 bytes are refused before anything else looks at the data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from gitops_gen.errors import InputError

MAX_BYTES = 256 * 1024  # a spec is a few hundred bytes; anything near this is a mistake
MAX_DEPTH = 32

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


def read_text(path: Path, display: str) -> str:
    """Read a hand-edited file: bounded size, UTF-8, no symlink out of the repo."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror}") from None
    if size > MAX_BYTES:
        raise InputError(f"{display}: file is {size} bytes, more than the {MAX_BYTES} allowed")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{display}:{line}: not valid UTF-8 (byte {exc.start})") from None


def parse_mapping(text: str, display: str) -> LoadedYaml:
    """Parse one YAML document that must be a mapping; every problem is an InputError."""
    if "&" in text or "*" in text:
        _refuse_anchors(text, display)
    try:
        data = round_trip_yaml().load(text)
    except DuplicateKeyError as exc:
        raise InputError(_marked(display, exc, "duplicate key")) from None
    except MarkedYAMLError as exc:
        raise InputError(_marked(display, exc, "malformed YAML")) from None
    except YAMLError as exc:
        raise InputError(f"{display}: malformed YAML: {exc}") from None
    if data is None:
        raise InputError(f"{display}: file is empty")
    if not isinstance(data, CommentedMap):
        raise InputError(f"{display}:1: expected a mapping at the top level")
    _check_depth(data, display)
    return LoadedYaml(display, data)


def load_mapping(path: Path, display: str) -> LoadedYaml:
    return parse_mapping(read_text(path, display), display)


def _refuse_anchors(text: str, display: str) -> None:
    """Refuse anchors and aliases: a spec never needs them and they enable YAML bombs."""
    yaml = YAML(typ="rt")
    try:
        for event in yaml.parse(text):
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                line = event.start_mark.line + 1 if event.start_mark else None
                where = f"{display}:{line}" if line else display
                raise InputError(f"{where}: YAML anchors and aliases are not allowed (&{anchor})")
    except MarkedYAMLError as exc:
        raise InputError(_marked(display, exc, "malformed YAML")) from None


def _check_depth(node: Any, display: str, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise InputError(f"{display}: nested more than {MAX_DEPTH} levels deep")
    for child in _children(node):
        _check_depth(child, display, depth + 1)


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        yield from node.values()
    elif isinstance(node, list):
        yield from node


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
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)  # drop ruamel's quoted-scalar subclasses
    return node
