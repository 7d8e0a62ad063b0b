"""A deterministic YAML emitter whose output means the same to every parser.

Argo CD, kubectl and kubeconform parse with Go's YAML, which follows YAML 1.1: unquoted
`no`, `on`, `y` are booleans and `0755` is octal there, while Python's YAML 1.2 parsers
read them differently. PyYAML and ruamel both write some of these unquoted. So every
generated YAML file is written by this emitter: a string is left plain only when both
YAML 1.1 and the conservative shape below say it is a plain string; everything else is
double-quoted with JSON escapes (valid YAML in 1.1 and 1.2).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import yaml

_PLAIN_SHAPE = re.compile(
    r"[A-Za-z_/][A-Za-z0-9_./@-]*(:[A-Za-z0-9_./@-]+)*"
    # Kubernetes quantities (100m, 256Mi): no YAML or Go parser reads them as numbers
    r"|[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)"
)
INDENT = "  "
# JSON escapes what ASCII holds (quotes, backslash, C0 controls); the rest is ours to do.
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x00-\x7e]")
# Go's yaml.v2 also reads these as booleans, where PyYAML does not (y, n).
_YAML11_WORDS = frozenset(
    ["y", "yes", "n", "no", "on", "off", "true", "false", "null"]
)


def dump_documents(docs: Sequence[Any]) -> str:
    """YAML stream of `docs`, separated by `---`, ending with a newline."""
    return "---\n".join(dump(doc) for doc in docs)


def dump(data: Any) -> str:
    lines: list[str] = []
    if isinstance(data, Mapping | list):
        _node(data, 0, lines)
    else:
        lines.append(_scalar(data))
    return "\n".join(lines) + "\n"


def _is_mapping(value: Any) -> bool:
    # a plain dict without the abc check (~0.2 us each, a tenth of a render's time)
    return value.__class__ is dict or isinstance(value, Mapping)


# Each function appends its lines to `out`: one list for a document (lists of lines
# made per entry and joined up were a third of the emitter's time).
def _node(data: Mapping[str, Any] | list[Any], level: int, out: list[str]) -> None:
    if _is_mapping(data):
        _mapping(data, level, out)  # type: ignore[arg-type]
    else:
        _sequence(data, level, out)  # type: ignore[arg-type]


def _mapping(data: Mapping[str, Any], level: int, out: list[str]) -> None:
    pad = INDENT * level
    if not data:
        out.append(pad + "{}")
        return
    for key, value in data.items():
        _entry(f"{pad}{_key(key)}:", value, level + 1, out)


def _sequence(data: list[Any], level: int, out: list[str]) -> None:
    pad = INDENT * level
    if not data:
        out.append(pad + "[]")
        return
    for item in data:
        if _is_mapping(item) and item:
            # "- key: value" with the rest of the mapping aligned under the first key
            first = len(out)
            _mapping(item, level + 1, out)
            out[first] = f"{pad}- {out[first].lstrip()}"
        else:
            _entry(f"{pad}-", item, level + 1, out)


def _entry(head: str, value: Any, level: int, out: list[str]) -> None:
    if value.__class__ is str:
        out.append(f"{head} {_string(value)}")
        return
    mapping = _is_mapping(value)
    if mapping or isinstance(value, list):
        if value:
            out.append(head)
            _node(value, level, out)
        else:
            out.append(f"{head} {{}}" if mapping else f"{head} []")
        return
    out.append(f"{head} {_scalar(value)}")


def _key(key: Any) -> str:
    return _string(key if key.__class__ is str else str(key))


def _scalar(value: Any) -> str:
    if value.__class__ is str:
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    return _string(str(value))


def _float(value: float) -> str:
    """A float both YAML versions read as this float: JSON's `Infinity` and `1e+16` are
    strings to YAML 1.1 (its floats need a dot), so spell them `.inf` and `1.0e+16`."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    mantissa, exp_mark, exponent = text.partition("e")
    return f"{mantissa}.0e{exponent}" if exp_mark and "." not in mantissa else text


@lru_cache(maxsize=65536)
def _string(text: str) -> str:
    if _is_plain_safe(text):
        return text
    return json_text(text)


def json_text(value: Any) -> str:
    """`value` (a string, or a JSON collection) as JSON that every YAML parser reads back
    as exactly `value`: a double-quoted YAML scalar or flow collection, in pure ASCII.

    Not `json.dumps(ensure_ascii=True)`: it writes an emoji as the surrogate pair
    `\\ud83d\\ude00`, which YAML reads as two invalid characters. Every non-ASCII
    character (and DEL) is escaped as its code point instead; raw, U+2028, U+0085 and
    U+FEFF would be line breaks or a byte-order mark to a YAML 1.1 reader (Go, PyYAML).
    """
    return _NOT_PRINTABLE_ASCII.sub(_escape, json.dumps(value, ensure_ascii=False))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _is_plain_safe(text: str) -> bool:
    if not _PLAIN_SHAPE.fullmatch(text) or text.lower() in _YAML11_WORDS:
        return False
    # YAML 1.1 (PyYAML, like Go) must read it back as this very string: rules out
    # yes/no/on/off/y/n/true/null/~ in every spelling.
    try:
        return bool(yaml.load(text, Loader=yaml.CSafeLoader) == text)
    except yaml.YAMLError:
        return False
