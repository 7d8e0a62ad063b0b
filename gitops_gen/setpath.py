"""`--set path=value`: edit a spec field from the command line."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import NodeEvent, ScalarEvent
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from gitops_gen.errors import InputError

_PATH_SHAPE = re.compile(r"[A-Za-z0-9_.-]+")
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")


def parse_assignment(
    text: str, schema: Mapping[str, Any] | None = None
) -> tuple[list[str], Any]:
    """`image.tag=1.2.3` → (["image", "tag"], "1.2.3"); values are YAML scalars, except
    that a field `schema` types as a string takes the text as written."""
    path_text, sep, raw = text.partition("=")
    path = path_text.strip().split(".")
    if not sep or not all(path):
        raise InputError(f"--set {shown(text)}: expected PATH=VALUE, e.g. --set tier=large")
    if _UNDECODABLE.search(text):  # how Python hands over argv bytes that are not UTF-8
        raise InputError(f"--set {shown(text)}: not valid UTF-8 text")
    return path, raw if schema and _is_string_field(schema, path) else _scalar(raw)


def shown(text: str) -> str:
    """An assignment as messages may show it: its path, never its value (a secret, maybe;
    `--set env.TOKEN:abc` with `:` for `=` is all value)."""
    path_text, sep, _ = text.partition("=")
    if _PATH_SHAPE.fullmatch(path_text):
        return repr(f"{path_text}=…" if sep else path_text)
    return "(an argument not shown: it is not PATH=VALUE and may hold a secret)"


def apply_assignments(
    data: CommentedMap, assignments: Sequence[str], schema: Mapping[str, Any] | None = None
) -> None:
    for text in assignments:
        path, value = parse_assignment(text, schema)
        node: dict[Any, Any] = data
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = CommentedMap()
            if not isinstance(child, dict):
                raise InputError(f"--set {shown(text)}: {key} is not a mapping in the spec")
            node = child
        # ruamel writes U+0085 raw in a single-quoted scalar, and reads it back as a line
        # break folded to a space; double quotes escape it (\N)
        node[path[-1]] = DoubleQuotedScalarString(value) if (
            isinstance(value, str) and "\x85" in value) else value


def _is_string_field(schema: Mapping[str, Any], path: Sequence[str]) -> bool:
    """Whether the spec schema says the field at `path` is a string.

    Then `--set env.SCALE=1e3` or `--set image.tag=1.10` means that text: read as YAML
    it would be the number 1000.0 or 1.1, which the spec refuses or, worse, changes.
    """
    node: Mapping[str, Any] | None = schema
    for key in path:
        node = _resolve(schema, node)
        properties = node.get("properties") or {}
        extra = node.get("additionalProperties")
        node = properties.get(key) or (extra if isinstance(extra, Mapping) else None)
        if node is None:
            return False
    return _resolve(schema, node).get("type") == "string"


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """`node`, or what its local `$ref` (`#/$defs/name`) points to."""
    ref = (node or {}).get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(schema, (schema.get("$defs") or {}).get(ref.removeprefix("#/$defs/")))
    return node or {}


def _scalar(raw: str) -> Any:
    """YAML 1.2 scalar semantics: 3 is an int, true a bool, NO stays the string NO.

    Anything that is not a single untagged, unanchored scalar (`a: b`, `[1]`, `!!binary
    x`, `&a x`, text with newlines) is taken as the literal string, so --set can never add
    structure to a spec. The first event decides, before ruamel builds (recursively) a
    collection: 50,000 `[` are a string, not a RecursionError.
    """
    if raw == "" or any(brk in raw for brk in _LINE_BREAKS):
        return raw  # YAML would fold "a\nb" into "a b"
    try:
        yaml = YAML(typ="safe", pure=True)
        first = next((e for e in yaml.parse(raw) if isinstance(e, NodeEvent)), None)
        if not isinstance(first, ScalarEvent) or first.tag is not None or first.anchor:
            return raw
        value = yaml.load(raw)
    except YAMLError:
        return raw
    if isinstance(value, dict | list) or (value is None and raw.strip() not in ("null", "~")):
        return raw
    return value
