"""`--set path=value`: edit a spec field from the command line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from gitops_gen.errors import InputError


def parse_assignment(
    text: str, schema: Mapping[str, Any] | None = None
) -> tuple[list[str], Any]:
    """`image.tag=1.2.3` → (["image", "tag"], "1.2.3"); values are YAML scalars, except
    that a field `schema` types as a string takes the text as written."""
    path_text, sep, raw = text.partition("=")
    path = path_text.strip().split(".")
    if not sep or not all(path):
        raise InputError(f"--set {text!r}: expected PATH=VALUE, e.g. --set tier=large")
    return path, raw if schema and _is_string_field(schema, path) else _scalar(raw)


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
                raise InputError(f"--set {text!r}: {key} is not a mapping in the spec")
            node = child
        node[path[-1]] = value


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

    Anything that is not a single scalar (`a: b`, `[1]`, text with newlines) is taken as
    the literal string, so --set can never add structure to a spec.
    """
    if raw == "":
        return ""
    try:
        value = YAML(typ="safe", pure=True).load(raw)
    except YAMLError:
        return raw
    if isinstance(value, dict | list) or (value is None and raw.strip() not in ("null", "~")):
        return raw
    return value
