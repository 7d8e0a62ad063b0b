"""Specs in a plain subset of YAML, read without ruamel: what ruamel would read, faster.

A spec is usually a few `key: value` lines (`name: acme`, `tier: small`, `image:` and an
indented `tag: "1.4.2"`). ruamel's round-trip loader, which keeps every line for error
messages, takes ~0.4 ms for that (4 s of a 10,000-customer cold compile). Here such a
text is read line by line into what `yamlio.to_plain(parse_mapping(text).data)` gives,
or not at all (None): the caller then reads it with ruamel as before. So a spec this
module reads is one ruamel reads the same, and every error message still comes from
ruamel's reading (spec.py only takes this one for a spec that passes every check).

The subset, chosen so that each accepted token has one reading under YAML 1.2 (ruamel's
default) and the hostile-input checks of yamlio.py have nothing to find:

- printable ASCII and newlines only (no tab, NUL, surrogate, BOM, non-ASCII);
- lines that are blank, a comment (`#` first), or `KEY:` / `KEY: VALUE`, optionally
  followed by spaces and a `# comment`;
- a KEY is `[A-Za-z_][A-Za-z0-9_.-]*` and not true/false/null in any case;
- a VALUE is a plain word starting with a letter (`[A-Za-z][A-Za-z0-9_./-]*`, not
  true/false/null/yes/no/on/off/y/n in any case: a string), `true`/`True`/`TRUE`/
  `false`/`False`/`FALSE` (a bool), `null`/`Null`/`NULL`/`~` (None), a decimal integer
  without a leading zero (`-?[1-9][0-9]{0,17}`), or a quoted string without escapes
  (`"..."` with no `"` or backslash inside, `'...'` with no `'` inside);
- `KEY:` alone opens a nested mapping on the next lines, indented deeper, all its keys
  at one indentation; it must have at least one key (an empty one is null in YAML: not
  taken here), nesting at most `yamlio.MAX_DEPTH` deep;
- the top-level keys start at column 0, no key appears twice in one mapping, and there
  is at least one.

Anything else (sequences, flow collections, anchors, tags, document markers, other
numbers, multi-line scalars, odd indentation) is None. tests/test_plainyaml.py compares
the two readers on generated texts, inside the subset and just outside it.
"""

from __future__ import annotations

import re
from typing import Any

from gitops_gen.yamlio import MAX_DEPTH

_PRINTABLE = re.compile(r"[\n\x20-\x7e]*\Z")
_LINE = re.compile(
    r"(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_.-]*):"
    r"(?: +(?P<value>[A-Za-z][A-Za-z0-9_./-]*|-?[1-9][0-9]{0,17}|~"
    r"|\"[\x20\x21\x23-\x5b\x5d-\x7e]*\"|'[\x20-\x26\x28-\x7e]*'))?"
    r"(?: +#.*)? *\Z")
_BLANK_OR_COMMENT = re.compile(r" *(?:#.*)?\Z")
_BOOLS = {"true": True, "True": True, "TRUE": True,
          "false": False, "False": False, "FALSE": False}
_NULLS = frozenset({"null", "Null", "NULL", "~"})
# words that are not plain strings in some YAML reading: never taken as plain words
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})
_NOT_KEYS = frozenset({"true", "false", "null"})  # keys that are not strings to ruamel


def plain_mapping(text: str) -> dict[str, Any] | None:
    """The mapping `text` holds if it lies in the subset (module docstring), else None."""
    if not _PRINTABLE.match(text):
        return None
    root: dict[str, Any] = {}
    # the open mappings, innermost last: (indentation of their keys, the mapping);
    # a mapping opened by `KEY:` has its indentation told by its first key (-1 till then)
    open_maps: list[tuple[int, dict[str, Any]]] = [(0, root)]
    for line in text.split("\n"):
        if _BLANK_OR_COMMENT.match(line):
            continue
        match = _LINE.match(line)
        if match is None:
            return None
        indent, key, value = len(match["indent"]), match["key"], match["value"]
        if key.lower() in _NOT_KEYS:
            return None
        if open_maps[-1][0] == -1:  # the first key of a mapping just opened
            if indent <= open_maps[-2][0]:
                return None  # `KEY:` with nothing under it: null, not taken here
            open_maps[-1] = (indent, open_maps[-1][1])
        while indent < open_maps[-1][0]:
            open_maps.pop()
        if indent != open_maps[-1][0]:
            return None  # deeper than its siblings, or between two levels
        mapping = open_maps[-1][1]
        if key in mapping:
            return None  # ruamel refuses duplicate keys: let it say so
        if value is None:
            if len(open_maps) >= MAX_DEPTH:
                return None
            mapping[key] = {}
            open_maps.append((-1, mapping[key]))
            continue
        scalar = _scalar(value)
        if scalar is _NOT_TAKEN:
            return None
        mapping[key] = scalar
    if not root or open_maps[-1][0] == -1:
        return None  # empty, or ends with `KEY:` and nothing under it
    return root


_NOT_TAKEN = object()


def _scalar(token: str) -> Any:
    if token[0] in "\"'":
        return token[1:-1]
    if token in _BOOLS:
        return _BOOLS[token]
    if token in _NULLS:
        return None
    if token[0] == "-" or token[0].isdigit():
        return int(token)
    if token.lower() in _RESERVED:
        return _NOT_TAKEN
    return token
