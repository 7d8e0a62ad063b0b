"""Documents that differ from one read before only in scalars on lines of their own, read
without parsing them again.

A chart renders the same templates for every customer, and one customer's document
differs from the next one's mostly in names and values that each fill the rest of a
line: `  namespace: "customer-acme"`; so do the files compile writes, and their
`# GENERATED ... from customers/acme.yaml` comments. Reading a document (`goyaml.load`)
is a third of the CPU of an in-process render; `Shapes.load` gives the same value by
copying a document of the same template read before and putting the new scalars in.

That is exact because of what it checks. When a document is read in full, each scalar
that starts and ends on one line, ends that line, and lies in block (not flow) context,
is noted as a slot: its line, its column, and where it sits in the value; and each line
outside every scalar that starts, after spaces, with `#` is noted as a comment line. A
later document is taken from that one only if it has as many lines, and every line that
differs is either a slot's, with the same text before the slot's column and then one
token of a plain or quoted scalar in a shape that cannot reach past its line or be read
as anything else (printable ASCII; a plain one neither starting with an indicator nor
holding a space, `#` or a trailing `:`), or a comment line's, with the same spaces
before its `#` and then only characters YAML allows in a comment. In flow context (`{...}`,
`[...]`), where a plain scalar ends at `,` `]` `}`, only quoted scalars are slots, a line
holding any number of them (values and items, not keys): such a line may differ only in
those, each replaced by a quoted token as above, which ends at its own closing quote
whatever follows it; the text between and around them must be as before. Every other character
of the stream is as before, so the YAML parser would see the same structure with those
scalars in it: the value is the old one with those scalars' new values, resolved as the
loader resolves them. A document with a repeated key, a line break other than `\\n` or
a byte-order mark is never used as a shape; anything else is read in full (and becomes
the shape).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import compress, count
from operator import ne
from typing import Any

import yaml
from yaml._yaml import CParser

from gitops_gen.goyaml import (
    DOC_SEPARATOR,
    GoYamlLoader,
    _NotPlain,
    _plain_scalar,
    _Scalars,
    _scalars,
    load,
    load_all,
    objects_of_value,
    source_of,
)

# A scalar token that is the whole rest of its line: double-quoted without escapes,
# single-quoted without quotes inside, or plain, all printable ASCII.
_QUOTED_TOKEN = r'"[ !#-\[\]-~]*"' r"|'[ -&(-~]*'"
_TOKEN = re.compile(
    _QUOTED_TOKEN + r"|(?:[A-Za-z0-9_./+]|-(?=[A-Za-z0-9]))[A-Za-z0-9_./+=@%:-]*(?<!:)")
# a quoted scalar of `_TOKEN`'s kinds: the only slots in flow context, where a plain
# scalar ends at `,`, `]`, `}` (a quoted one only at its closing quote)
_QUOTED = re.compile(_QUOTED_TOKEN)
# characters YAML also takes as line breaks (or a byte-order mark): lines would not match
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029\ufeff]")
# a line that is a comment and nothing else; what a comment may hold (YAML's printable
# characters, no line break but `\n`)
_COMMENT_LINE = re.compile(r" *#")
# (spelled as what it excludes: the class of what it allows took ~3 ms to compile)
_COMMENT_TEXT = re.compile("[^\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]*")

Path = tuple[str | int, ...]
_MAX_SHAPES = 512
# Shapes kept per kind and length, newest first: customers of a few tiers take turns, and
# a line that differs between tiers but is no slot (`resources: {"cpu": ...}`, a flow
# mapping) would otherwise make every document a new shape.
_PER_KIND = 4


@dataclass
class _Shape:
    lines: list[str]
    value: Any
    slots: dict[int, tuple[Path, int]]  # line -> (where in the value, column)
    # line -> its quoted flow scalars, in order: (where in the value, start, end column)
    flow_slots: dict[int, list[tuple[Path, int, int]]]
    comments: dict[int, int]  # line holding only a comment -> its indentation


@dataclass
class _Notes:
    """What reading a document in full notes besides its value."""

    slots: dict[int, tuple[Path, int]] = field(default_factory=dict)
    flow_slots: dict[int, list[tuple[Path, int, int]]] = field(default_factory=dict)
    in_scalars: set[int] = field(default_factory=set)  # lines of multi-line scalars


class Shapes:
    """The documents read last, up to `_PER_KIND` per kind given (a template, its n-th
    document) and number of lines, read as `loader` reads them (a CSafeLoader or a
    subclass: by default Go's YAML)."""

    def __init__(self, loader: type[yaml.CSafeLoader] = GoYamlLoader) -> None:
        self._loader = loader
        self._shapes: dict[tuple[object, int], list[_Shape]] = {}
        self._scalars = _scalars(loader)
        self.reused = 0  # documents taken from a shape

    def load(self, kind: object, text: str) -> Any:
        """`yaml.load(text, loader)` (`goyaml.load` for Go's): its value, or its error."""
        value = self._shaped(kind, text)
        if value is not _NO:
            return value
        return load(text) if self._loader is GoYamlLoader else yaml.load(text, self._loader)

    def objects(self, kind: object, text: str) -> list[dict[str, Any]]:
        """`goyaml.objects_of_document(text)`, by way of `load`."""
        return objects_of_value(self.load(kind, text))

    def load_all(self, kind: object, data: str | bytes) -> list[Any]:
        """`goyaml.load_all(data, loader)`: the documents of a file, or its error."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError:
            return load_all(data, self._loader)
        value = self._shaped(kind, text)
        return load_all(data, self._loader) if value is _NO else [value]

    def _shaped(self, kind: object, text: str) -> Any:
        """`text`'s one document from a shape, or read in full and made the shape;
        `_NO`: it is not one document a shape can be made of."""
        lines = text.split("\n")
        known = self._shapes.get((kind, len(lines)), [])
        for shape in known:
            value = _from_shape(shape, lines, self._scalars)
            if value is not _NO:
                self.reused += 1
                return value
        learned = _learn(text, lines, self._scalars)
        if learned is None:
            return _NO
        if len(self._shapes) >= _MAX_SHAPES:  # kinds of many lengths: memory stays bounded
            self._shapes.clear()
        self._shapes[(kind, len(lines))] = [learned, *known][:_PER_KIND]
        return plain_copy(learned.value)


SHAPES = Shapes()  # this process's


def documents(stream: str) -> Iterator[tuple[str | None, str, object]]:
    """Each document of a tool's output: the template its `# Source:` names, its text,
    and its kind for `Shapes` (that template, and how many of its documents came first)."""
    seen: dict[str | None, int] = {}
    for chunk in DOC_SEPARATOR.split(stream):
        source = source_of(chunk)
        seen[source] = seen.get(source, -1) + 1
        yield source, chunk, (source, seen[source])


_NO = object()


def _from_shape(shape: _Shape, lines: list[str], scalars: _Scalars) -> Any:
    """The value of `lines` from `shape`, or `_NO`."""
    changes: list[tuple[Path, Any]] = []
    if len(lines) != len(shape.lines):
        raise ValueError("a shape is only tried on documents of its number of lines")
    old_lines = shape.lines
    # the lines that differ, found in C (most do not: a render's ~570 lines, ~10 differ)
    for number in compress(count(), map(ne, old_lines, lines)):
        old, new = old_lines[number], lines[number]
        indent = shape.comments.get(number)
        if indent is not None:
            if new[:indent + 1] != old[:indent + 1] or not _COMMENT_TEXT.fullmatch(
                    new, indent + 1):
                return _NO
            continue
        flow = shape.flow_slots.get(number)
        if flow is not None:
            if not _flow_changes(flow, old, new, changes):
                return _NO
            continue
        slot = shape.slots.get(number)
        if slot is None:
            return _NO
        path, column = slot
        if new[:column] != old[:column] or not _TOKEN.fullmatch(new, column):
            return _NO
        token = new[column:]
        if token[0] in "\"'":
            changes.append((path, token[1:-1]))
            continue
        try:
            changes.append((path, _plain_scalar(token, scalars)))
        except _NotPlain:
            return _NO
    value = plain_copy(shape.value)
    for path, scalar in changes:
        target = value
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = scalar
    return value


def plain_copy(value: Any) -> Any:
    """A deep copy of a YAML value as the loaders here give it (dicts, lists, scalars),
    ~5x quicker than copy.deepcopy, which keeps a memo for shared and cyclic parts that
    such a value cannot have. The scalars are the value's own, not copies: the documents
    made of one shape share them, down to the build's main process (a copy read back
    from marshal bytes was a tenth quicker, but a worker's renders then reached the main
    process a quarter larger: +26 MiB of peak memory at 1,000 customers)."""
    if value.__class__ is dict:
        return {k: plain_copy(v) for k, v in value.items()}
    if value.__class__ is list:
        return [plain_copy(v) for v in value]
    return value  # scalars are immutable


def _flow_changes(flow: list[tuple[Path, int, int]], old: str, new: str,
                  changes: list[tuple[Path, Any]]) -> bool:
    """Whether `new` is `old` with each of its quoted flow scalars (`flow`) replaced by a
    quoted scalar (`_QUOTED`), every other character the same; their values go to
    `changes`."""
    position = done = 0  # in `new`; in `old`, the end of the last slot passed
    for path, start, end in flow:
        between = old[done:start]
        if not new.startswith(between, position):
            return False
        token = _QUOTED.match(new, position + len(between))
        if token is None:
            return False
        changes.append((path, token.group()[1:-1]))
        position, done = token.end(), end
    return new[position:] == old[done:]


class _Repeated(Exception):
    """A mapping repeats a key: a slot's value may not be the one that counts."""


def _learn(text: str, lines: list[str], scalars: _Scalars) -> _Shape | None:
    """`text` read in full as `goyaml.load` reads it, with its slots; None: not one
    plain document, or not usable as a shape (the caller reads it with `load`)."""
    if _OTHER_BREAKS.search(text):
        return None
    parser = CParser(text)
    try:
        get: Any = parser.get_event
        get()  # StreamStart
        start = get()
        if start.__class__ is not yaml.DocumentStartEvent or start.version or start.tags:
            return None
        notes = _Notes()
        value = _node(get, get(), (), notes, lines, scalars)
        get()  # DocumentEnd
        if get().__class__ is not yaml.StreamEndEvent:
            return None  # several documents
    except (_NotPlain, _Repeated, yaml.YAMLError, RecursionError):
        return None
    finally:
        parser.dispose()
    # a line starting with `#` outside every scalar (a block scalar's lines are its own)
    comments = {number: match.end() - 1 for number, line in enumerate(lines)
                if number not in notes.in_scalars and (match := _COMMENT_LINE.match(line))}
    if notes.slots.keys() & notes.flow_slots.keys():
        return None  # cannot be (a block slot ends its line); never trusted if it were
    return _Shape(lines, value, notes.slots, notes.flow_slots, comments)


def _node(get: Any, event: Any, path: Path, notes: _Notes, lines: list[str],
          scalars: _Scalars) -> Any:
    """`goyaml._node`, noting slots. (Kept apart from it: that one is the hot path of
    every document read in full, and this one runs once per shape.)"""
    kind = event.__class__
    if event.anchor is not None or event.tag is not None:
        raise _NotPlain
    if kind is yaml.ScalarEvent:
        if event.start_mark.line != event.end_mark.line:
            notes.in_scalars.update(range(event.start_mark.line, event.end_mark.line + 1))
        return _plain_scalar(event.value, scalars) if event.implicit[0] else event.value
    block = not event.flow_style
    if kind is yaml.MappingStartEvent:
        mapping: dict[Any, Any] = {}
        event = get()
        while event.__class__ is not yaml.MappingEndEvent:
            if event.__class__ is not yaml.ScalarEvent or event.anchor or event.tag or (
                    event.implicit[0] and event.value == "<<"):
                raise _NotPlain  # complex keys, anchors, tags, merge keys
            key = _node(get, event, path, notes, lines, scalars)
            if key.__class__ is not str:
                raise _NotPlain  # made a string by `goyaml`: left to it
            if key in mapping:
                raise _Repeated
            value_event = get()
            if block:
                _note(value_event, (*path, key), notes.slots, lines)
            else:
                _note_flow(value_event, (*path, key), notes.flow_slots, lines)
            mapping[key] = _node(get, value_event, (*path, key), notes, lines, scalars)
            event = get()
        return mapping
    if kind is yaml.SequenceStartEvent:
        sequence: list[Any] = []
        event = get()
        while event.__class__ is not yaml.SequenceEndEvent:
            if block:
                _note(event, (*path, len(sequence)), notes.slots, lines)
            else:
                _note_flow(event, (*path, len(sequence)), notes.flow_slots, lines)
            sequence.append(_node(get, event, (*path, len(sequence)), notes, lines, scalars))
            event = get()
        return sequence
    raise _NotPlain  # an alias


def _note_flow(event: Any, path: Path, flow_slots: dict[int, list[tuple[Path, int, int]]],
               lines: list[str]) -> None:
    """A quoted scalar in flow context, on one ASCII line, as a slot of that line."""
    if event.__class__ is not yaml.ScalarEvent or event.style not in ('"', "'"):
        return
    start, end = event.start_mark, event.end_mark
    if start is None or end is None or start.line != end.line:
        return
    line = lines[start.line]
    if line.isascii() and _QUOTED.fullmatch(line, start.column, end.column):
        flow_slots.setdefault(start.line, []).append((path, start.column, end.column))


def _note(event: Any, path: Path, slots: dict[int, tuple[Path, int]], lines: list[str]) -> None:
    if event.__class__ is not yaml.ScalarEvent:
        return
    start, end = event.start_mark, event.end_mark
    if start is None or end is None:
        return
    line = lines[start.line]
    # ASCII: where the parser's columns and Python's indexes surely agree
    if (start.line == end.line and end.column == len(line) and line.isascii()
            and _TOKEN.fullmatch(line, start.column)):
        slots[start.line] = (path, start.column)
