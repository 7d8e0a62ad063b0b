"""`--set path=value`: edit a spec field from the command line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from gitops_gen.errors import InputError


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """`image.tag=1.2.3` → (["image", "tag"], "1.2.3"); values are YAML scalars."""
    path_text, sep, raw = text.partition("=")
    path = path_text.strip().split(".")
    if not sep or not all(path):
        raise InputError(f"--set {text!r}: expected PATH=VALUE, e.g. --set tier=large")
    return path, _scalar(raw)


def apply_assignments(data: CommentedMap, assignments: Sequence[str]) -> None:
    for text in assignments:
        path, value = parse_assignment(text)
        node: dict[Any, Any] = data
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = CommentedMap()
            if not isinstance(child, dict):
                raise InputError(f"--set {text!r}: {key} is not a mapping in the spec")
            node = child
        node[path[-1]] = value


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
