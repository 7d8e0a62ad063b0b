"""Edit one scalar of a hand-written YAML file and nothing else.

A bump must change only the tag lines: comments, key order, quoting and blank lines of
specs are people's work. When the key exists, its value is replaced in place on its
line; when it does not, ruamel.yaml's round-trip dumper adds it (keeping comments).
Either way the result is parsed again and must equal the intended data exactly.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap

from gitops_gen.errors import InputError
from gitops_gen.yamlio import parse_mapping, round_trip_yaml, to_plain

# `key: value  # comment` — the value is everything up to an unquoted comment
_SIMPLE_VALUE = re.compile(
    r"""(?P<head>\s*(?:-\s+)?[^\s#:][^:#]*:\s+)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s#'"][^#]*?)"""
    r"""(?P<tail>\s*(?:#.*)?)$"""
)


def set_scalar(text: str, display: str, path: Sequence[str], value: str) -> str:
    """`text` with the string at `path` set to `value` (created if missing)."""
    loaded = parse_mapping(text, display)
    expected = to_plain(loaded.data)
    _assign(expected, path, value)
    edited = _edit_in_place(text, loaded.data, path, value)
    if edited is None:
        edited = _in_style_of(text, _edit_round_trip(loaded.data, path, value))
    if to_plain(parse_mapping(edited, display).data) != expected:
        raise InputError(f"{display}: cannot set {'.'.join(path)} without changing other "
                         "fields; edit the file by hand")
    return edited


def _edit_in_place(text: str, data: CommentedMap, path: Sequence[str], value: str) -> str | None:
    node: Any = data
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, CommentedMap) or path[-1] not in node:
        return None
    if isinstance(node[path[-1]], dict | list):
        return None
    line_no = node.lc.key(path[-1])[0]
    lines = text.splitlines(keepends=True)
    line = lines[line_no]
    ending = line[len(line.rstrip("\r\n")):]
    match = _SIMPLE_VALUE.match(line.rstrip("\r\n"))
    if match is None or not match.group("head").strip().startswith(str(path[-1])):
        return None  # a flow mapping or something unusual: let ruamel do it
    lines[line_no] = f"{match.group('head')}{json.dumps(value)}{match.group('tail')}{ending}"
    return "".join(lines)


def _edit_round_trip(data: CommentedMap, path: Sequence[str], value: str) -> str:
    node = data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, CommentedMap):
            child = node[key] = CommentedMap()
        node = child
    node[path[-1]] = value
    buffer = io.StringIO()
    round_trip_yaml().dump(data, buffer)
    return buffer.getvalue()


def _in_style_of(original: str, dumped: str) -> str:
    """`dumped` (ruamel's: `\n` line breaks, no byte-order mark) with the line breaks and
    byte-order mark of `original`, so that a spec saved on Windows is not rewritten on
    every line by a bump."""
    if "\r\n" in original and original.count("\r\n") == original.count("\n"):
        dumped = dumped.replace("\r\n", "\n").replace("\n", "\r\n")
    if original.startswith("\ufeff") and not dumped.startswith("\ufeff"):
        dumped = "\ufeff" + dumped
    return dumped


def _assign(data: dict[str, Any], path: Sequence[str], value: str) -> None:
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
