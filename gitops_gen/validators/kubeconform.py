"""The kubeconform backend: one `kubeconform` process for all objects.

kubeconform cannot follow the Kubernetes schemas' `$ref` into `_definitions.json`, so it
gets standalone copies (refs inlined, see `SchemaStore.standalone_schema_for`), written
once into a cache folder named by `SchemaStore.cache_key()`, laid out the way its
`-schema-location` template below looks them up. Each object is written to its own
temporary file named by its index, so a result record's `filename` leads straight back
to the `Manifest` it came from.

`-output json` prints one record per object that is not valid (kubeconform's
`pkg/output/json.go`)::

    {"filename": ".../12.json", "kind": "Deployment", "name": "web", "version": "apps/v1",
     "status": "statusInvalid", "msg": "...",
     "validationErrors": [{"path": "/spec/replicas", "msg": "expected integer or null,
                                                             but got string"}]}

`validationErrors` (kubeconform >= v0.6.1) holds the top-level causes only. When one
subtree has several problems, kubeconform reports a single cause with an empty message
(santhosh-tekuri/jsonschema v5) or "validation failed" (v6) at that subtree; those are
expanded by validating that object in process, so both backends report the same findings.

Skipped kinds and kinds without a schema never reach kubeconform (so no `-skip`): both
backends decide those the same way, in `problems`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from gitops_gen import procs
from gitops_gen.errors import InputError
from gitops_gen.k8s_schemas import SchemaStore
from gitops_gen.model import Finding, Manifest
from gitops_gen.toolchain import cache_root
from gitops_gen.validators import problems as p
from gitops_gen.validators.embedded import EmbeddedValidator

EXECUTABLE = "kubeconform"
INSTALL_HINT = (
    "kubeconform is not on PATH. It is not packaged on PyPI, npm or Debian: download a "
    "release binary from https://github.com/yannh/kubeconform/releases and put it on PATH, "
    "or use the embedded backend (validation.backend: embedded)"
)
# kubeconform fills in `Group` (the apiVersion before "/", or the whole apiVersion for the
# core group), `ResourceKind` (the kind, lower case) and `ResourceAPIVersion` (the
# version): see `schema_file`, which must name files the same way.
_LOCATION_TEMPLATE = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
_OK_EXIT_CODES = (0, 1)  # 1: some object is invalid, which is a result, not a failure

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_ADDITIONAL = re.compile(r"^additional ?p?roperties (?P<names>.+) not allowed$", re.IGNORECASE)
_MISSING = re.compile(r"^missing propert(?:y|ies):? (?P<names>.+)$")
_TYPE_V5 = re.compile(r"^expected (?P<want>.+), but got (?P<got>\w+)$")
_TYPE_V6 = re.compile(r"^got (?P<got>\w+), want (?P<want>.+)$")
_PATTERN = re.compile(r"does not match pattern (?P<pattern>'(?:[^'\\]|\\.)*')$")
_NOT_ALLOWED = re.compile(r"^(value must be .*|enum failed|const failed|not allowed|false schema)$")
_NO_FORM = re.compile(r"^(oneOf|anyOf) failed(, none matched)?$")
_SEVERAL_FORMS = re.compile(
    r"^(valid against schemas at indexes \d+ and \d+|oneOf failed, subschemas \d+, \d+ matched)$")
# Causes that only group other causes; kubeconform does not print what is inside them.
_GROUP = re.compile(r"^(|doesn't validate with .*|validation failed( with .*)?"
                    r"|allOf failed|if-(then|else) failed)$")


@dataclass(frozen=True)
class Cause:
    """One entry of a record's `validationErrors`."""

    pointer: str  # JSON pointer into the object, "" for the root
    msg: str


@dataclass(frozen=True)
class Record:
    """One line of kubeconform's JSON output: an object that is not valid."""

    filename: str
    status: str  # statusInvalid | statusError | statusSkipped | statusValid
    msg: str
    causes: tuple[Cause, ...]


class KubeconformValidator:
    """Validates by running kubeconform over temporary files, one per object."""

    name = "kubeconform"

    def __init__(self, store: SchemaStore, skip_kinds: Collection[str] = (), *,
                 executable: str | None = None, cache_dir: Path | None = None) -> None:
        found = executable or shutil.which(EXECUTABLE)
        if found is None:
            raise InputError(f"validation backend kubeconform: {INSTALL_HINT}")
        self.executable = found
        self.store = store
        self.skip_kinds = frozenset(skip_kinds)
        self.schema_dir = (cache_dir or cache_root()) / "kubeconform-schemas" / store.cache_key()
        self._embedded = EmbeddedValidator(store)

    def validate(self, manifests: Sequence[Manifest]) -> list[Finding]:
        findings: list[Finding] = []
        checked: list[Manifest] = []
        for manifest in manifests:
            if p.is_skipped(manifest, self.skip_kinds):
                continue
            if self.store.schema_for(manifest.api_version, manifest.kind) is None:
                findings.append(p.unknown_kind_finding(manifest, self.store.version))
            else:
                checked.append(manifest)
        if checked:
            self._write_schemas(checked)
            findings.extend(self._run(checked))
        return sorted(set(findings))

    def _write_schemas(self, manifests: Sequence[Manifest]) -> None:
        for api_version, kind in sorted({(m.api_version, m.kind) for m in manifests}):
            path = schema_file(self.schema_dir, api_version, kind)
            if path.is_file():
                continue
            schema = self.store.standalone_schema_for(api_version, kind)
            _write_atomically(path, json.dumps(schema, separators=(",", ":")))

    def _run(self, manifests: Sequence[Manifest]) -> list[Finding]:
        with tempfile.TemporaryDirectory(prefix="gitops-gen-kubeconform-") as tmp:
            for index, manifest in enumerate(manifests):
                Path(tmp, f"{index}.json").write_text(p.to_json(manifest.obj), encoding="utf-8")
            stdout = self._kubeconform(Path(tmp))
        findings: list[Finding] = []
        for record in parse_records(stdout):
            manifest = manifests[_index_of(record, len(manifests))]
            detail = partial(self._in_process_problems, manifest)
            problems = problems_from_record(record, p.json_compatible(manifest.obj), detail)
            findings.extend(p.findings_for(manifest, problems))
        return findings

    def _in_process_problems(self, manifest: Manifest) -> list[p.Problem]:
        return self._embedded.problems(manifest) or []

    def _kubeconform(self, objects_dir: Path) -> str:
        cmd = [self.executable, "-strict", "-output", "json", "-summary=false",
               "-n", str(os.cpu_count() or 1),
               "-schema-location", str(self.schema_dir / _LOCATION_TEMPLATE),
               str(objects_dir)]
        try:
            proc = procs.run(cmd, check=False)
        except procs.ToolFailed as exc:
            raise InputError(f"kubeconform could not run: {exc}") from exc
        if proc.returncode not in _OK_EXIT_CODES:
            raise InputError(str(procs.ToolFailed(cmd, proc.returncode, proc.stderr)))
        return proc.stdout


def schema_file(root: Path, api_version: str, kind: str) -> Path:
    """Where kubeconform's `-schema-location` template looks for this kind's schema."""
    group = api_version.split("/")[0]  # the version itself for the core group, as kubeconform
    version = api_version.split("/")[-1]
    return root / group / f"{kind.lower()}_{version}.json"


def parse_records(stdout: str) -> list[Record]:
    """kubeconform's `-output json` document -> its records."""
    try:
        document = json.loads(stdout)
        resources = document["resources"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"kubeconform printed no JSON report ({exc}): {stdout[:500]!r}") from exc
    return [_record(raw) for raw in resources or []]


def problems_from_record(record: Record, obj: Any,
                         detail: Callable[[], Sequence[p.Problem]] | None = None,
                         ) -> list[p.Problem]:
    """One record in the shared vocabulary (see `problems`).

    `detail()` returns the in-process problems of the same object; it is called only when
    kubeconform reported a group of causes without saying what is in it.
    """
    if record.status == "statusError" or (record.status == "statusInvalid"
                                          and not record.causes):
        return [p.invalid((), record.msg)]
    if record.status != "statusInvalid":
        return []
    out: list[p.Problem] = []
    for cause in record.causes:
        path = pointer_path(cause.pointer, obj)
        if _GROUP.match(cause.msg) and detail is not None:
            out.extend(_inside(path, detail()))
        else:
            out.extend(problems_from_message(path, cause.msg, obj))
    return out


def problems_from_message(path: tuple[p.PathPart, ...], msg: str, obj: Any) -> list[p.Problem]:
    """A jsonschema message (santhosh-tekuri/jsonschema v5 or v6) in the shared vocabulary."""
    if m := _ADDITIONAL.match(msg):
        return [p.unknown_field(path, name) for name in _quoted(m["names"])]
    if m := _MISSING.match(msg):
        return [p.missing_field(path, name) for name in _quoted(m["names"])]
    if m := (_TYPE_V5.match(msg) or _TYPE_V6.match(msg)):
        return [p.wrong_type(path, m["want"].split(" or "), p.json_type(_value_at(obj, path)))]
    if _NOT_ALLOWED.match(msg):
        return [p.Problem(path, p.VALUE_NOT_ALLOWED)]
    if m := _PATTERN.search(msg):
        return [p.pattern_mismatch(path, _quoted(m["pattern"])[0])]
    if _NO_FORM.match(msg):
        return [p.Problem(path, p.NO_FORM_MATCHES)]
    if _SEVERAL_FORMS.match(msg):
        return [p.Problem(path, p.SEVERAL_FORMS_MATCH)]
    return [p.invalid(path, msg)]


def pointer_path(pointer: str, obj: Any) -> tuple[p.PathPart, ...]:
    """`/spec/containers/0/image` -> ("spec", "containers", 0, "image").

    A token is a list index only where the object has a list, so a map key "0" stays a
    string. Tokens are percent-decoded (v5 escapes them like URL path segments), then
    JSON-pointer-decoded.
    """
    path: list[p.PathPart] = []
    node = obj
    for raw in pointer.split("/")[1:]:
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit():
            index = int(token)
            path.append(index)
            node = node[index] if index < len(node) else None
        else:
            path.append(token)
            node = node.get(token) if isinstance(node, dict) else None
    return tuple(path)


def _inside(path: tuple[p.PathPart, ...], problems: Sequence[p.Problem]) -> list[p.Problem]:
    below = [problem for problem in problems if problem.path[: len(path)] == path]
    return below or [p.invalid(path, "kubeconform reports problems here without detail")]


def _record(raw: dict[str, Any]) -> Record:
    causes = tuple(
        Cause(pointer=str(c.get("path", "")), msg=str(c.get("msg", "")))
        for c in raw.get("validationErrors") or []
    )
    return Record(filename=str(raw.get("filename", "")), status=str(raw.get("status", "")),
                  msg=str(raw.get("msg", "")), causes=causes)


def _index_of(record: Record, count: int) -> int:
    stem = Path(record.filename).stem
    if not stem.isdigit() or int(stem) >= count:
        raise InputError(f"kubeconform reported on a file it was not given: {record.filename}")
    return int(stem)


def _quoted(text: str) -> list[str]:
    """`'a', 'b\\'c'` -> ["a", "b'c"] (Go-quoted names in single quotes)."""
    return [re.sub(r"\\(.)", r"\1", name) for name in _QUOTED.findall(text)]


def _value_at(obj: Any, path: Sequence[p.PathPart]) -> Any:
    for part in path:
        if isinstance(obj, dict) and isinstance(part, str):
            obj = obj.get(part)
        elif isinstance(obj, list) and isinstance(part, int) and part < len(obj):
            obj = obj[part]
        else:
            return None
    return obj


def _write_atomically(path: Path, text: str) -> None:
    """Write so that a concurrent run never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                     delete=False, suffix=".tmp") as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)
