"""`helm template` without a process, where its output is provably the binary's.

A `helm template` process costs ~35-40 ms, almost all of it start-up; Helm's Go SDK
called in-process through helm-python-sdk renders the same chart in ~2 ms. The binary
stays the reference: the SDK is used only for what it does the same way —

- charts that never mention `Capabilities` (the SDK cannot be told the Kubernetes
  version: it would render its own), in templates or value files (`tpl`), with no
  `crds/`, no subcharts (`charts/`, `dependencies:`), no array merge strategy
  annotations, and only YAML, `.tpl` and NOTES.txt files under templates/;
- sources whose only options are the release name, namespace, value files and
  `--set`/`--set-string` parameters that hold no numbers (`--set` makes numbers int64
  where value files make them float64, and the JSON that crosses into the SDK cannot
  keep that apart) and no list indexes;
- a render that succeeds: any SDK error falls back to the binary, so a finding always
  carries the binary's message.

Helm compiles and checks values.schema.json on every render (two thirds of a render's
time for the fleet's chart). Where the schema keeps to a subset on which jsonschema-rs
and Helm's validator (santhosh-tekuri/jsonschema) agree (`ValuesSchema`: the subset is
argued below, and tested against the binary), the schema is compiled once here and the
chart renders from a copy loaded without it, but only for values this check finds
valid: anything else renders through Helm's own check, and a failure there falls back
to the binary as before.

On top of that, `build.py` checks the first render of each chart in a run against the
binary's, object for object, and uses the SDK for that chart only if they are equal.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import marshal
import os
import re
import shutil
import string
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema_rs
import yaml

from gitops_gen.docshapes import SHAPES, documents
from gitops_gen.procs import go_gc_env

# Helm's releaseutil.SplitManifests separator: a `---` line, and what whitespace follows.
_HELM_DOC_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")
_TEMPLATE_SUFFIXES = (".yaml", ".yml", ".tpl")
_NOT_IN_PROCESS = b"Capabilities"


@dataclass(frozen=True)
class SetParameter:
    """One `--set` (or `--set-string`, when `string`) of an Application's helm source."""

    name: str
    value: str
    string: bool


# (chart directory, release name, namespace, value files, parameters): one render
RenderRequest = tuple[Path, str, str, tuple[Path, ...], tuple[SetParameter, ...]]


@dataclass(frozen=True)
class _Chart:
    """A chart as the SDK loaded it, and, where its values schema is checked here, the
    same chart loaded without values.schema.json (whose renders check no schema)."""

    helm: Any
    unchecked: Any = None
    schema: ValuesSchema | None = None


class InProcessHelm:
    """Renders charts through helm-python-sdk; one instance per build run."""

    def __init__(self, sdk: ModuleType | None = None) -> None:
        self._module = sdk  # loaded at the first render here, if not given
        self._unloadable = False
        self._lock = threading.Lock()
        self._charts: dict[Path, _Chart | None] = {}  # chart dir -> loaded; None: not here
        self._trusted: dict[Path, bool] = {}
        self._checking: dict[Path, threading.Lock] = {}
        self.used = 0  # renders whose output was taken (not replaced by the binary's)
        self.schema_checked = 0  # renders whose values ValuesSchema found valid

    @classmethod
    def load(cls) -> InProcessHelm | None:
        """The in-process helm if the SDK is installed; None: use the binary. Its Go
        library (~0.07 s to load) is loaded by the first render in this process: a build
        whose renders its worker processes do (build.py) never loads it here."""
        # The SDK's Go runtime reads GOGC once, as it starts, perhaps after the import
        # returns: so it stays set (the helm and kustomize processes that inherit it
        # only collect less often).
        os.environ.update(go_gc_env())
        try:
            return cls() if importlib.util.find_spec("helm_python") is not None else None
        except (ImportError, ValueError):
            return None

    @property
    def _sdk(self) -> ModuleType:
        assert self._module is not None, "loaded by render() first"
        return self._module

    def _loaded(self) -> bool:
        """Whether the SDK is loaded here, loading it on first use (False: its library
        does not load: every render goes to the binary)."""
        with self._lock:
            if self._module is None and not self._unloadable:
                try:
                    import helm_python

                    self._module = helm_python
                except (ImportError, OSError, AttributeError):
                    self._unloadable = True
            return self._module is not None

    def render(self, chart_dir: Path, release: str, namespace: str,
               value_files: Sequence[Path], parameters: Sequence[SetParameter]) -> str | None:
        """What `helm template` prints for these inputs, or None where the binary must run."""
        if not self._loaded():
            return None
        chart = self._chart(chart_dir)
        if chart is None:
            return None
        sdk = self._sdk
        try:
            sdk.validate_release_name(release)
            values: dict[str, Any] = {}
            for path in value_files:
                text = path.read_bytes()
                if _NOT_IN_PROCESS in text:
                    return None
                values = merge_maps(values, sdk.values_from_yaml(text.decode("utf-8")))
            for parameter in parameters:
                parsed = self._parameter(parameter)
                if parsed is None:
                    return None
                values = merge_maps(values, parsed)
            renderer = chart.helm
            if chart.schema is not None and chart.schema.accepts(chart.helm.merge_values(values)):
                renderer = chart.unchecked
                with self._lock:
                    self.schema_checked += 1
            rendered = renderer.render(values, name=release, namespace=namespace)
        except (sdk.HelmError, OSError, UnicodeDecodeError, ValueError):
            return None
        return helm_template_stream(rendered)

    def checked(self, chart_dir: Path) -> threading.Lock:
        """Held while the first render of a chart is compared with the binary's."""
        with self._lock:
            return self._checking.setdefault(chart_dir, threading.Lock())

    def trusted(self, chart_dir: Path) -> bool | None:
        """Whether the chart's SDK render equalled the binary's; None: not compared yet."""
        return self._trusted.get(chart_dir)

    def record(self, chart_dir: Path, same: bool) -> None:
        self._trusted[chart_dir] = same

    def count_use(self) -> None:
        with self._lock:
            self.used += 1

    def _parameter(self, parameter: SetParameter) -> dict[str, Any] | None:
        if "[" in parameter.name:
            return None
        expression = f"{parameter.name}={parameter.value}"
        if parameter.string:
            parsed: dict[str, Any] = self._sdk.parse_set_string_values(expression)
            return parsed
        parsed = self._sdk.parse_set_string(expression)
        return None if any(_numbers(parsed)) else parsed

    def _chart(self, chart_dir: Path) -> _Chart | None:
        with self._lock:
            if chart_dir not in self._charts:
                self._charts[chart_dir] = self._load_chart(chart_dir)
            return self._charts[chart_dir]

    def _load_chart(self, chart_dir: Path) -> _Chart | None:
        if not _renders_the_same(chart_dir):
            return None
        try:
            chart = self._sdk.Chart.load(str(chart_dir))
        except self._sdk.HelmError:
            return None
        try:
            schema = chart.schema
        except (self._sdk.HelmError, ValueError):
            return _Chart(chart)
        values_schema = ValuesSchema.compile(schema) if schema is not None else None
        if values_schema is None:
            return _Chart(chart)
        unchecked = self._load_without_schema(chart_dir, chart)
        return _Chart(chart) if unchecked is None else _Chart(chart, unchecked, values_schema)

    def _load_without_schema(self, chart_dir: Path, chart: Any) -> Any:
        """The chart loaded from a private copy without values.schema.json, if the SDK
        then sees everything else the same (the schema is not among a chart's Files)."""
        with tempfile.TemporaryDirectory(prefix="gitops-gen-chart-") as tmp:
            copy = Path(tmp) / chart_dir.name
            try:
                shutil.copytree(chart_dir, copy, ignore=lambda d, names: (
                    ["values.schema.json"] if Path(d) == chart_dir else []))
                unchecked = self._sdk.Chart.load(str(copy))
            except (OSError, shutil.Error, self._sdk.HelmError):
                return None
        same = (unchecked.schema is None and unchecked.metadata == chart.metadata
                and unchecked.values == chart.values and unchecked.files == chart.files
                and unchecked.templates == chart.templates and unchecked.crds == chart.crds
                and unchecked.dependencies == chart.dependencies)
        return unchecked if same else None


def installed_version() -> str | None:
    """The SDK's version if it is installed, found without loading it (its Go library
    takes ~0.1 s to load): what a build cache key names."""
    try:
        if importlib.util.find_spec("helm_python") is None:
            return None
        return importlib.metadata.version("helm-python-sdk")
    except (ImportError, ValueError, importlib.metadata.PackageNotFoundError):
        return None


# -- in worker processes -------------------------------------------------------------------
#
# Rendering and parsing a chart's output hold the GIL about two thirds of the time, so
# threads use little more than one core; for a large build, build.py forks worker
# processes that do both (before it loads the SDK: a fork of a process running the Go
# runtime is not usable). Each loads its own SDK and charts.

# (template, object) in stream order, and whether ValuesSchema checked the values
Rendered = tuple[list[tuple[str | None, dict[str, Any]]], bool]


def render_objects(requests: Sequence[RenderRequest]) -> bytes | list[Rendered | None]:
    """In a worker: for each request, the objects `helm template` would print, each with
    the template it came from; None where the caller must use the binary. The list
    comes marshalled (`rendered_chunk` reads it back)."""
    helm = _worker_helm()
    return sent_chunk([_render_objects(helm, request) if helm else None
                       for request in requests])


def sent_chunk(renders: list[Rendered | None]) -> bytes | list[Rendered | None]:
    """`renders` as a worker sends them: marshalled, not pickled by the pool (half the
    time to write, three quarters to read: the objects are plain data), the chunk as one,
    so that strings its renders share (dict keys, from one document shape) are written
    once and read back shared; the build's main process keeps them for the whole run (a
    render marshalled on its own came back 40% larger). Anything marshal cannot write
    goes as it is, pickled."""
    try:
        return marshal.dumps(renders)
    except ValueError:
        return renders


def rendered_chunk(sent: bytes | list[Rendered | None]) -> list[Rendered | None]:
    """What `render_objects` sent, read back."""
    return marshal.loads(sent) if isinstance(sent, bytes) else sent


def _render_objects(helm: InProcessHelm, request: RenderRequest) -> Rendered | None:
    checked = helm.schema_checked  # one render at a time in a worker
    text = helm.render(*request)
    if text is None:
        return None
    objects: list[tuple[str | None, dict[str, Any]]] = []
    try:
        for source, chunk, kind in documents(text):
            objects += [(source, obj) for obj in SHAPES.objects(kind, chunk)]
    except (yaml.YAMLError, ValueError):
        return None  # the binary's message names the problem its way
    return objects, helm.schema_checked > checked


@functools.cache
def _worker_helm() -> InProcessHelm | None:
    return InProcessHelm.load()


def _renders_the_same(chart_dir: Path) -> bool:
    """The chart-side conditions of the module docstring."""
    if (chart_dir / "crds").exists() or (chart_dir / "charts").exists():
        return False
    if (chart_dir / "requirements.yaml").exists():
        return False
    try:
        chart_yaml = (chart_dir / "Chart.yaml").read_bytes()
        # dependencies; array merge strategies (helm.sh/merge-strategy/..., merge-key/...),
        # which a newer helm binary may coalesce values by and the SDK not
        if b"dependencies" in chart_yaml or b"helm.sh/merge-" in chart_yaml:
            return False
        for path in chart_dir.rglob("*"):
            if path.is_symlink():
                return False
            if not path.is_file():
                continue
            if path.parent.name == "templates" and not (
                path.name.endswith(_TEMPLATE_SUFFIXES) or path.name == "NOTES.txt"
            ):
                return False
            if _NOT_IN_PROCESS in path.read_bytes():
                return False
    except OSError:
        return False
    return True


def helm_template_stream(rendered: dict[str, str]) -> str:
    """The SDK's {template: text} as `helm template` prints it: partials, NOTES.txt and
    empty documents dropped, each document under `---` and `# Source: <template>`."""
    out = []
    for path in sorted(rendered):
        base = path.rsplit("/", 1)[-1]
        if base.startswith("_") or path.endswith("NOTES.txt"):
            continue
        for doc in split_documents(rendered[path]):
            if doc.strip():
                out.append(f"---\n# Source: {path}\n{doc}\n")
    return "".join(out)


def split_documents(text: str) -> list[str]:
    """`_HELM_DOC_SEPARATOR.split(text)`, found with `str.find`: the regex tries its
    leading `\\s*\\n` at every character, a tenth of a millisecond per chart render.

    A match is `---` at the very start, or the whitespace run that ends in the newline
    before a `---` (the leftmost start the regex can take); either way followed by all
    whitespace after the `---`. (`str.isspace` is the `\\s` of a str pattern.)"""
    if "---" not in text:
        return [text]
    parts: list[str] = []
    start = 0  # where the current part begins (and the next match is looked for)
    if text.startswith("---"):
        start = _skip_space(text, 3)
        parts.append("")
    while (newline := text.find("\n---", start)) >= 0:
        begin = newline
        while begin > start and text[begin - 1].isspace():
            begin -= 1
        parts.append(text[start:begin])
        start = _skip_space(text, newline + 4)
    parts.append(text[start:])
    return parts


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def merge_maps(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's `mergeMaps` (cli/values): maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            out[key] = merge_maps(current, value)
        else:
            out[key] = value
    return out


def _numbers(value: Any) -> Iterator[bool]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield True


# -- values.schema.json outside Helm ---------------------------------------------------------
#
# Helm v4 (pkg/chart/common/util/jsonschema.go) checks the coalesced values (chart defaults
# merged with the user's) against values.schema.json with santhosh-tekuri/jsonschema v6:
# the draft named by `$schema`, else 2020-12; Go's regexp for patterns; numbers compared
# exactly (big.Rat); `file`, `http(s)` and `urn` references loaded. jsonschema-rs answers
# the same only on a subset, so a schema outside it is left to Helm:
#
# - `$schema` absent or draft-07 / 2020-12 by its usual URL, at the root only;
# - only the keywords below: no `format`, `content*`, `uniqueItems`, `multipleOf`,
#   `dependencies`, `unevaluated*`, `prefixItems`, `$id`, anchors or dynamic references;
#   `items` a single schema; `$ref` only `#`, `#/definitions/X` or `#/$defs/X`, and in
#   draft-07 beside annotations only (both then ignore its siblings);
# - numbers in the schema integers of at most 2^53, so each comparison with a value
#   (a float64 in Helm, the same double here) is exact in both;
# - patterns in the syntax `_portable_regex` accepts, which both engines read alike.
#
# The values checked must hold no integer beyond 2^53: Helm reads numbers as float64,
# and the SDK's JSON can print one of those as an integer that is not its exact value.
# Subcharts' schemas, which Helm checks too, do not arise: such charts are not rendered
# in-process. A schema Helm cannot compile (where jsonschema-rs can) fails every render
# of the binary, so the first one, which build.py compares, sends the chart to it.

_DRAFTS = {
    None: jsonschema_rs.Draft202012Validator,
    "https://json-schema.org/draft/2020-12/schema": jsonschema_rs.Draft202012Validator,
    "http://json-schema.org/draft-07/schema#": jsonschema_rs.Draft7Validator,
    "http://json-schema.org/draft-07/schema": jsonschema_rs.Draft7Validator,
}
_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment",
                          "readOnly", "writeOnly", "deprecated"})
_SUBSCHEMA = frozenset({"additionalProperties", "propertyNames", "items", "contains", "not",
                        "if", "then", "else"})
_SUBSCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_SUBSCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions", "$defs"})
_ASSERTIONS = frozenset({"type", "enum", "const", "required", "minimum", "maximum",
                         "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                         "minItems", "maxItems", "minProperties", "maxProperties", "pattern"})
_BESIDE_REF = _ANNOTATIONS | {"$ref", "$schema", "definitions", "$defs"}
_LOCAL_REF = re.compile(r"#(?:/(definitions|\$defs)/([A-Za-z0-9_.-]+))?")
_EXACT = 2**53


class ValuesSchema:
    """A chart's values.schema.json checked with jsonschema-rs, compiled once."""

    def __init__(self, validator: Any) -> None:
        self._validator = validator

    @classmethod
    def compile(cls, schema: object) -> ValuesSchema | None:
        """The schema compiled, if it keeps to the subset above; None: leave it to Helm."""
        if not isinstance(schema, dict):
            return None
        named = schema.get("$schema", None) if "$schema" in schema else None
        if "$schema" in schema and not isinstance(named, str):
            return None
        draft = _DRAFTS.get(named)
        draft2020 = draft is jsonschema_rs.Draft202012Validator
        try:
            if draft is None or not _in_subset(schema, schema, draft2020):
                return None
            return cls(draft(schema, validate_formats=False, offline=True))
        except (ValueError, TypeError, RecursionError, jsonschema_rs.ValidationError,
                jsonschema_rs.ReferencingError):
            return None

    def accepts(self, values: object) -> bool:
        """True only where Helm's check passes too; False: let Helm check (and say why)."""
        return _exact_numbers(values) and bool(self._validator.is_valid(values))


def _in_subset(schema: object, root: dict[str, Any], draft2020: bool) -> bool:
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    if "$ref" in schema and not (draft2020 or set(schema) <= _BESIDE_REF):
        return False
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key == "$schema":
            ok = schema is root
        elif key == "$ref":
            ok = _local_ref(value, root)
        elif key in _SUBSCHEMA:
            ok = (key != "items" or isinstance(value, dict | bool)) and _in_subset(
                value, root, draft2020)
        elif key in _SUBSCHEMA_LISTS:
            ok = isinstance(value, list) and all(_in_subset(v, root, draft2020) for v in value)
        elif key in _SUBSCHEMA_MAPS:
            ok = isinstance(value, dict) and all(
                _in_subset(v, root, draft2020) for v in value.values()) and (
                key != "patternProperties" or all(_portable_regex(p) for p in value))
        elif key in _ASSERTIONS:
            ok = _exact_numbers(value, schema_number=True) and (
                key != "pattern" or (isinstance(value, str) and _portable_regex(value)))
        else:
            ok = False
        if not ok:
            return False
    return True


def _local_ref(ref: object, root: dict[str, Any]) -> bool:
    match = _LOCAL_REF.fullmatch(ref) if isinstance(ref, str) else None
    if match is None:
        return False
    container = root.get(match.group(1)) if match.group(1) else None
    return not match.group(1) or (isinstance(container, dict) and match.group(2) in container)


def _exact_numbers(value: object, schema_number: bool = False) -> bool:
    """No integer beyond 2^53 (and, in a schema, no number that is not an integer)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, int):
        return -_EXACT <= value <= _EXACT
    if isinstance(value, float):
        return not schema_number or (value.is_integer() and -_EXACT <= value <= _EXACT)
    if isinstance(value, dict):
        return all(_exact_numbers(v, schema_number) for v in value.values())
    if isinstance(value, list):
        return all(_exact_numbers(v, schema_number) for v in value)
    return False


# A pattern both Go's regexp (RE2 syntax) and jsonschema-rs's engine read alike: ASCII
# literals and escaped punctuation, `^` `$` (text start and end in both: no flags), groups
# `(...)` `(?:...)`, `|`, greedy `* + ? {n} {n,} {n,m}` (n, m <= 1000, Go's limit), and
# classes of literals and ranges within digits or one letter case. Not `.` (which differs
# on line terminators), `\d \w \s \b` (ASCII in Go, Unicode in Rust), flags, lazy or
# possessive quantifiers, POSIX or nested classes, nor Rust's class set operators.
_REGEX_LITERALS = frozenset(string.ascii_letters + string.digits + " !\"#%&',-/:;<=>@_`~")
_REGEX_ESCAPED = frozenset(".^$|?*+()[]{}\\/-")
_CLASS_LITERALS = frozenset(string.ascii_letters + string.digits
                            + " !\"#$%&'()*+,./:;<=>?@^_`{|}~")
_REPEAT = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")
_RANGE_ENDS = (string.digits, string.ascii_lowercase, string.ascii_uppercase)


def _portable_regex(pattern: str) -> bool:
    i, depth, quantifiable = 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char in _REGEX_LITERALS:
            i, quantifiable = i + 1, True
        elif char == "\\":
            if pattern[i + 1:i + 2] not in _REGEX_ESCAPED or i + 1 >= len(pattern):
                return False
            i, quantifiable = i + 2, True
        elif char in "^$|":
            i, quantifiable = i + 1, False
        elif char == "(":
            opening = "(?:" if pattern.startswith("(?:", i) else "("
            if pattern.startswith("(?", i) and opening == "(":
                return False  # flags, lookaround, named groups
            i, depth, quantifiable = i + len(opening), depth + 1, False
        elif char == ")" and depth > 0:
            i, depth, quantifiable = i + 1, depth - 1, True
        elif char == "[":
            end = _class_end(pattern, i)
            if end is None:
                return False
            i, quantifiable = end, True
        elif char in "*+?{" and quantifiable:
            repeat = _REPEAT.match(pattern, i) if char == "{" else None
            if char == "{" and not (repeat and _repeat_counts_ok(repeat)):
                return False
            i, quantifiable = repeat.end() if repeat else i + 1, False
            if pattern[i:i + 1] in ("?", "+"):
                return False  # lazy (or possessive, which Go lacks)
        else:
            return False
    return depth == 0


def _repeat_counts_ok(repeat: re.Match[str]) -> bool:
    low = int(repeat.group(1))
    high = low if repeat.group(2) is None else int(repeat.group(3) or low)
    return low <= high <= 1000


def _class_end(pattern: str, start: int) -> int | None:
    """The index after the class opening at `start`, if it is in the portable syntax."""
    i = start + 1 + (pattern[start + 1:start + 2] == "^")
    items: list[str] = []  # each a literal character; "-" between two makes a range
    while i < len(pattern) and pattern[i] != "]":
        char = pattern[i]
        if char == "\\":
            if pattern[i + 1:i + 2] not in _REGEX_ESCAPED or i + 1 >= len(pattern):
                return None
            items.append(pattern[i:i + 2])
            i += 2
        elif char in _CLASS_LITERALS or char == "-":
            items.append(char)
            i += 1
        else:
            return None
    if i >= len(pattern) or not items:
        return None
    body = "".join(items)
    if "&&" in body or "~~" in body or "--" in body:
        return None
    position, after_range = 0, False
    while position < len(items):
        if items[position] == "-" and 0 < position < len(items) - 1:
            low, high = items[position - 1], items[position + 1]
            if after_range or not any(low in ends and high in ends and low <= high
                                      for ends in _RANGE_ENDS):
                return None
            position, after_range = position + 2, True
        else:
            position, after_range = position + 1, False
    return i + 1
