"""YAML as Argo CD reads it: Go's YAML 1.1 types, and documents as Kubernetes objects.

Shared by everything that reads tool output or generated files (build, the kustomize
batch, argocd, appinputs), so that all of them agree on what a document means.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Hashable
from typing import Any

import yaml
from yaml._yaml import CParser

# A multi-document stream as helm and kustomize print it; `# Source:` names a template.
DOC_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
SOURCE_COMMENT = re.compile(r"^# Source: (\S.*?)\s*$", re.MULTILINE)


def source_of(chunk: str) -> str | None:
    """The template a document of `helm template`'s output names, if any."""
    comment = SOURCE_COMMENT.search(chunk)
    return comment.group(1) if comment else None


def objects_of_document(chunk: str) -> list[dict[str, Any]]:
    """The objects one YAML document stands for (a List stands for its items), as in
    Argo CD's `GenerateManifests`. Raises `yaml.YAMLError` or `ValueError`."""
    return objects_of_value(load(chunk))


def load(text: str | bytes) -> Any:
    """`yaml.load(text, Loader=GoYamlLoader)`, about twice as fast on the plain YAML tools
    print: the document is built from libyaml's events with the loader's own resolvers
    and scalar constructors; whatever is less plain (tags, anchors, aliases, merge keys,
    complex keys, directives, several documents, errors) goes to the loader itself, so
    the result, or the error, is exactly its."""
    try:
        documents: list[Any] | None = _plain_documents(text, _scalars(GoYamlLoader))
    except (_NotPlain, yaml.YAMLError, RecursionError):
        documents = None
    if documents is None or len(documents) > 1:
        return yaml.load(text, Loader=GoYamlLoader)  # its value, or its own error
    return documents[0] if documents else None


def load_all(text: str | bytes, loader: type[yaml.CSafeLoader] | None = None) -> list[Any]:
    """`list(yaml.load_all(text, Loader=loader))` (default: GoYamlLoader), with `load`'s
    fast path for a stream whose every document is plain. `loader`: a CSafeLoader or a
    subclass, whose resolvers and scalar constructors the fast path uses."""
    loader = loader or GoYamlLoader
    try:
        return _plain_documents(text, _scalars(loader))
    except (_NotPlain, yaml.YAMLError, RecursionError):
        return list(yaml.load_all(text, Loader=loader))


def objects_of_value(doc: object) -> list[dict[str, Any]]:
    """`objects_of_document` for a document already parsed."""
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise ValueError(f"a document is a {type(doc).__name__}, not an object")
    items = doc.get("items")
    if isinstance(items, list):
        return [_object(item) for item in items]
    if items is None and str(doc.get("kind", "")).endswith("List") and "items" in doc:
        return []  # argo-cd isNullList: a List whose items are null is dropped
    return [_object(doc)]


def _object(value: object) -> dict[str, Any]:
    # Argo CD decodes into `unstructured.Unstructured`, which requires a kind.
    if not isinstance(value, dict) or not value.get("kind"):
        raise ValueError("Object 'Kind' is missing")
    return value


# -- YAML as Go reads it -------------------------------------------------------------------


class GoYamlLoader(yaml.CSafeLoader):
    """PyYAML's C safe loader with the implicit types of Go's yaml.v2 (YAML 1.1).

    Argo CD, kubectl and Kubernetes read manifests with Go's YAML, which differs from
    PyYAML's YAML 1.1 in ways that change values: `y`/`n` are booleans; `2024-01-01` and
    `=` stay strings; `1e3` is a float; `1:30` is a string, not sexagesimal 90.

    Mapping keys are strings, as Kubernetes' reader (sigs.k8s.io/yaml) turns a YAML
    document into JSON: `1: a` and `on: b` are keys "1" and "true" (`json_key`); a key
    it cannot convert, such as `~`, is an error, as it is for Argo CD. Objects read here
    are therefore JSON already, so a build read back from the cache equals a fresh one.
    """

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        # PyYAML's own (SafeConstructor's, then BaseConstructor's), with each key made a
        # string before it goes in: 1 and true are different keys to Go, equal to Python.
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key.__class__ is not str:
                if not isinstance(key, Hashable):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        "found unhashable key", key_node.start_mark)
                try:
                    key = json_key(key)
                except ValueError as exc:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        str(exc), key_node.start_mark) from None
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def json_key(key: object) -> str:
    """A mapping key as sigs.k8s.io/yaml's `convertToJSONableObject` writes it: ints in
    decimal, booleans as `true`/`false`, floats as Go's `FormatFloat(key, 'g', -1, 32)`
    (`.inf`, `-.inf`, `.nan` for the special ones). Raises ValueError for any other key
    (null, a timestamp), which Kubernetes cannot read either."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _go_float32(key)
    if isinstance(key, bytes):  # !!binary: Go's YAML decodes it to a string
        return key.decode("utf-8", "replace")
    what = "null" if key is None else f"{type(key).__name__} {key}"
    raise ValueError(f"a mapping key that is {what}: Kubernetes reads only strings, "
                     "numbers and booleans as keys")


def _go_float32(value: float) -> str:
    """Go's `strconv.FormatFloat(value, 'g', -1, 32)`, with YAML's names for inf and nan."""
    if math.isnan(value):
        return ".nan"
    try:
        single = struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:  # beyond float32: Go's conversion gives an infinity
        single = math.copysign(math.inf, value)
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    sign = "-" if math.copysign(1.0, single) < 0 else ""
    if single == 0:
        return sign + "0"
    # The shortest decimal that reads back as the same float32 (Go's 'g' with -1).
    packed = struct.pack("<f", abs(single))
    text = f"{abs(single):.8e}"
    for precision in range(8):
        candidate = f"{abs(single):.{precision}e}"
        try:
            if struct.pack("<f", float(candidate)) == packed:
                text = candidate
                break
        except OverflowError:  # past float32's largest: Python's pack does not round it
            continue
    mantissa, exponent_text = text.split("e")
    digits = mantissa.replace(".", "").rstrip("0")
    exponent = int(exponent_text)
    if exponent < -4 or exponent >= 6:  # Go decides on a fixed 6 for the shortest form
        fraction = "." + digits[1:] if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{fraction}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    point = exponent + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _construct_go_bool(loader: GoYamlLoader, node: yaml.Node) -> bool:
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    return str(value).lower() in ("y", "yes", "true", "on")


def _go_implicit_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    replaced = {"bool", "int", "float", "timestamp", "value"}
    kept = {
        first: [(tag, rx) for tag, rx in resolvers if tag.rsplit(":", 1)[-1] not in replaced]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }
    go_types = (
        (
            "bool",
            r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE"
            r"|on|On|ON|off|Off|OFF)$",
            "yYnNtTfFoO",
        ),
        (
            "int",
            r"^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0(?:o[0-7_]+|[0-7_]*)|[1-9][0-9_]*)$",
            "-+0123456789",
        ),
        (
            "float",
            r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+0123456789.",
        ),
    )
    for name, pattern, firsts in go_types:
        for first in firsts:
            kept.setdefault(first, []).append((f"tag:yaml.org,2002:{name}", re.compile(pattern)))
    return kept


GoYamlLoader.yaml_implicit_resolvers = _go_implicit_resolvers()
GoYamlLoader.add_constructor("tag:yaml.org,2002:bool", _construct_go_bool)


# -- the plain YAML fast path of `load` ----------------------------------------------------


class _NotPlain(Exception):
    """The document uses something `_plain_documents` leaves to the loader."""


_Scalar, _MappingStart, _SequenceStart = yaml.ScalarEvent, yaml.MappingStartEvent, \
    yaml.SequenceStartEvent
_MappingEnd, _SequenceEnd = yaml.MappingEndEvent, yaml.SequenceEndEvent
_STR = "tag:yaml.org,2002:str"
_CONSTRUCTED = frozenset({"tag:yaml.org,2002:null", "tag:yaml.org,2002:bool",
                          "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
_PLAIN_CACHE_MAX = 8192


class _Scalars:
    """A loader's plain scalars: its implicit resolvers and constructors, and a cache."""

    def __init__(self, loader: type[yaml.CSafeLoader]) -> None:
        self.resolvers = loader.yaml_implicit_resolvers
        self.constructors = loader.yaml_constructors
        self.constructor = loader("")  # for single scalars, which keep no state in it
        self.json_keys = issubclass(loader, GoYamlLoader)  # keys as `GoYamlLoader` makes them
        self.values: dict[str, Any] = {}  # plain scalar -> its value (all immutable)


_SCALARS: dict[type[yaml.CSafeLoader], _Scalars] = {}


def _scalars(loader: type[yaml.CSafeLoader]) -> _Scalars:
    if loader not in _SCALARS:
        _SCALARS[loader] = _Scalars(loader)
    return _SCALARS[loader]


def _plain_documents(text: str | bytes, scalars: _Scalars) -> list[Any]:
    parser = CParser(text)
    try:
        get: Any = parser.get_event  # events of the kinds yaml.events defines
        get()  # StreamStart
        documents: list[Any] = []
        while not isinstance(event := get(), yaml.StreamEndEvent):
            if event.version or event.tags:
                raise _NotPlain
            documents.append(_node(get, get(), scalars))
            get()  # DocumentEnd
        return documents
    finally:
        parser.dispose()


def _node(get: Any, event: Any, scalars: _Scalars) -> Any:
    """The value of the node `event` starts, built as SafeConstructor builds it."""
    kind = event.__class__
    if kind is _Scalar:
        if event.anchor is not None or event.tag is not None:
            raise _NotPlain
        return _plain_scalar(event.value, scalars) if event.implicit[0] else event.value
    if event.anchor is not None or event.tag is not None:
        raise _NotPlain  # anchors, aliases, explicit tags
    if kind is _MappingStart:
        mapping: dict[Any, Any] = {}
        event = get()
        while event.__class__ is not _MappingEnd:
            if event.__class__ is _Scalar and event.implicit[0] and event.value == "<<":
                raise _NotPlain  # a merge key
            key = _node(get, event, scalars)
            if key.__class__ is not str:
                if isinstance(key, dict | list):
                    raise _NotPlain  # unhashable: the loader's error
                if scalars.json_keys:
                    try:
                        key = json_key(key)
                    except ValueError:
                        raise _NotPlain from None  # the loader's error
            mapping[key] = _node(get, get(), scalars)  # a repeated key: the last value wins
            event = get()
        return mapping
    if kind is _SequenceStart:
        sequence: list[Any] = []
        event = get()
        while event.__class__ is not _SequenceEnd:
            sequence.append(_node(get, event, scalars))
            event = get()
        return sequence
    raise _NotPlain  # an alias


def _plain_scalar(value: str, scalars: _Scalars) -> Any:
    """A plain scalar's value: the loader's implicit tag, then its constructor."""
    try:
        return scalars.values[value]
    except KeyError:
        pass
    tag = _STR
    resolvers = scalars.resolvers
    for candidate, pattern in resolvers.get(value[:1], []) + resolvers.get(None, []):
        if pattern.match(value):
            tag = candidate
            break
    if tag == _STR:
        result: Any = value
    elif tag in _CONSTRUCTED:
        result = scalars.constructors[tag](scalars.constructor, yaml.ScalarNode(tag, value))
    else:
        raise _NotPlain
    if len(scalars.values) >= _PLAIN_CACHE_MAX:
        scalars.values.clear()
    scalars.values[value] = result
    return result
