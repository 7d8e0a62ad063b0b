"""Kubernetes and CRD JSON schemas, found offline, one per (apiVersion, kind).

Kubernetes schemas come from the `kubernetes-validate` package, folder
`kubernetes-json-schema/v<X.Y.Z>-local-strict/`: one file per kind, named
`<kind>-<group prefix>-<version>.json` (`deployment-apps-v1.json`, `service-v1.json`,
`ingress-networking-v1.json`: only the group's first DNS label). Their `$ref`s point into
the shared `_definitions.json` of the same folder, whose `$id` is `DEFINITIONS_ID`; the
validators resolve them offline through that document, never over HTTP.

CRD schemas come from the platform repo's `schemas/` folder, laid out like the datreeio
CRDs-catalog: `<group>/<kind>_<version>.json`, e.g. `argoproj.io/application_v1alpha1.json`.
A CRD's openAPIV3Schema allows unknown fields unless it says otherwise, while the
Kubernetes strict schemas reject them. So that a typo is caught the same way in both, CRD
schemas are made strict when they are loaded, as kubeconform's
`openapi2jsonschema.py --strict` does: every object schema that lists `properties` and
says nothing about `additionalProperties` gets `additionalProperties: false`, except where
`x-kubernetes-preserve-unknown-fields: true` asks for the opposite. Unlike that script,
this also applies to the root, where a misspelt `spec` would otherwise pass silently; the
root keeps accepting `apiVersion`, `kind` and `metadata` even if the file omits them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gitops_gen.errors import InputError

Schema = dict[str, Any]

DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"


def _package_dir(name: str) -> Path:
    """Where the installed package `name` lies, found without importing it (importing
    kubernetes_validate imports jsonschema, ~40 ms, for the schema files alone)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return Path(spec.origin).parent


KUBERNETES_SCHEMA_ROOT = _package_dir("kubernetes_validate") / "kubernetes-json-schema"
_STRICT_SUFFIX = "-local-strict"
_DEFINITIONS_FILE = "_definitions.json"

# Bump when the standalone (refs inlined) conversion changes, so that caches built by an
# older gitops-gen are not reused.
_STANDALONE_FORMAT = "1"

# apiVersion and kind become file names: anything else cannot name a schema, and must not
# be able to walk out of the schema folders.
_GROUP_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
_VERSION_RE = re.compile(r"^v[0-9]+[a-z0-9]*$")
_KIND_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")

# Keywords whose values are schemas, or maps / lists of schemas (what strictness walks).
_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
              "additionalItems", "unevaluatedProperties", "unevaluatedItems", "propertyNames")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions",
                   "dependentSchemas")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
# Keywords that only annotate: a `$ref`'s siblings with these may be merged into the target.
_ANNOTATIONS = frozenset({"description", "title", "default", "example", "examples",
                          "deprecated", "readOnly", "writeOnly", "format"})
# What the API server accepts at the root of every object, whatever the CRD schema lists.
_ROOT_FIELDS: dict[str, Schema] = {
    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
}


def split_api_version(api_version: str) -> tuple[str, str]:
    """`apps/v1` -> (`apps`, `v1`); the core group is the empty string: `v1` -> (``, `v1`)."""
    group, _, version = api_version.rpartition("/")
    return group, version


class SchemaStore:
    """Strict schemas for one Kubernetes version plus the CRD schema folders.

    Nothing is read until asked for; each kind's schema is read once.
    """

    def __init__(self, kube_version: str | None, crd_dirs: Sequence[Path]) -> None:
        self.version = resolve_version(kube_version)
        self.crd_dirs = tuple(Path(d) for d in crd_dirs)
        self._kubernetes_dir = KUBERNETES_SCHEMA_ROOT / f"v{self.version}{_STRICT_SUFFIX}"
        self._schemas: dict[tuple[str, str], Schema | None] = {}
        self._definitions: Schema | None = None

    @staticmethod
    def available_versions() -> list[str]:
        """Kubernetes versions with schemas here, oldest first (`1.25.0` … `1.37.0`)."""
        return available_versions()

    @property
    def definitions(self) -> Schema:
        """`_definitions.json`, the document every Kubernetes schema's `$ref` points into."""
        if self._definitions is None:
            self._definitions = _read_json(self._kubernetes_dir / _DEFINITIONS_FILE)
        return self._definitions

    def schema_for(self, api_version: str, kind: str) -> Schema | None:
        """The strict schema for this kind, or None when neither Kubernetes nor a CRD has one.

        The dict is shared: callers must not change it.
        """
        key = (api_version, kind)
        if key not in self._schemas:
            self._schemas[key] = self._load(api_version, kind)
        return self._schemas[key]

    def standalone_schema_for(self, api_version: str, kind: str) -> Schema | None:
        """`schema_for`, with every `$ref` into `_definitions.json` inlined.

        For tools that cannot follow the shared definitions file (kubeconform).
        """
        schema = self.schema_for(api_version, kind)
        return None if schema is None else standalone(schema, lambda: self.definitions)

    def cache_key(self) -> str:
        """Names what `standalone_schema_for` returns: the version and every CRD schema file.

        Changing a CRD schema, or the conversion, gives a new key, so a cache keyed by it
        never serves a stale schema.
        """
        digest = hashlib.sha256(_STANDALONE_FORMAT.encode())
        for crd_dir in self.crd_dirs:
            for path in sorted(crd_dir.glob("*/*.json")) if crd_dir.is_dir() else []:
                digest.update(str(path.relative_to(crd_dir)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
        return f"v{self.version}-{digest.hexdigest()[:16]}"

    def _load(self, api_version: str, kind: str) -> Schema | None:
        group, version = split_api_version(api_version)
        if not (_KIND_RE.match(kind) and _VERSION_RE.match(version)):
            return None
        if group and not _GROUP_RE.match(group):
            return None
        return self._kubernetes_schema(group, version, kind) or self._crd_schema(
            group, version, kind)

    def _kubernetes_schema(self, group: str, version: str, kind: str) -> Schema | None:
        prefix = f"-{group.split('.')[0]}" if group else ""
        path = self._kubernetes_dir / f"{kind.lower()}{prefix}-{version}.json"
        if not path.is_file():
            return None
        schema = _read_json(path)
        # The file name keeps only the group's first label: check the group in full, so
        # that `networking.example.com` never borrows `networking.k8s.io`'s schema.
        wanted = {"group": group, "version": version, "kind": kind}
        return schema if wanted in schema.get("x-kubernetes-group-version-kind", []) else None

    def _crd_schema(self, group: str, version: str, kind: str) -> Schema | None:
        if not group:  # no CRD lives in the core group
            return None
        for crd_dir in self.crd_dirs:
            path = crd_dir / group / f"{kind.lower()}_{version}.json"
            if path.is_file():
                return strict_crd_schema(_read_json(path))
        return None


def available_versions() -> list[str]:
    """Kubernetes versions whose strict schemas `kubernetes-validate` ships, oldest first."""
    versions = [
        p.name[1 : -len(_STRICT_SUFFIX)]
        for p in KUBERNETES_SCHEMA_ROOT.glob(f"v*{_STRICT_SUFFIX}")
        if (p / _DEFINITIONS_FILE).is_file()
    ]
    return sorted(versions, key=_version_tuple)


def resolve_version(requested: str | None) -> str:
    """`1.30`, `1.30.0` or `v1.30.0` -> `1.30.0`; None -> the newest available."""
    available = available_versions()
    if not available:
        raise InputError(f"no Kubernetes schemas found under {KUBERNETES_SCHEMA_ROOT}: "
                         "reinstall the kubernetes-validate package")
    if requested is None:
        return available[-1]
    wanted = requested.strip().removeprefix("v")
    if wanted.count(".") == 1:
        wanted += ".0"
    if wanted not in available:
        raise InputError(f"kubernetesVersion {requested!r}: no schemas for it; "
                         f"available: {', '.join(available)}")
    return wanted


def strict_crd_schema(schema: Schema) -> Schema:
    """Make a CRD schema reject unknown fields (see the module docstring). Changes `schema`."""
    _deny_unknown_fields(schema)
    if schema.get("additionalProperties") is False:
        properties = schema.setdefault("properties", {})
        for name, field_schema in _ROOT_FIELDS.items():
            properties.setdefault(name, dict(field_schema))
    return schema


def _deny_unknown_fields(node: Any) -> None:
    if isinstance(node, list):  # `items` as a list (tuple validation)
        for item in node:
            _deny_unknown_fields(item)
        return
    if not isinstance(node, dict):
        return
    if ("properties" in node and "additionalProperties" not in node
            and node.get("x-kubernetes-preserve-unknown-fields") is not True):
        node["additionalProperties"] = False
    for key in _SUBSCHEMA:
        _deny_unknown_fields(node.get(key))
    for key in _SUBSCHEMA_MAPS:
        for sub in (node.get(key) or {}).values():
            _deny_unknown_fields(sub)
    for key in _SUBSCHEMA_LISTS:
        _deny_unknown_fields(node.get(key) or [])


def standalone(schema: Schema, definitions: Callable[[], Schema]) -> Schema:
    """`schema` with every `$ref` into `_definitions.json` replaced by what it points to.

    A definition that (directly or not) contains itself cannot be inlined forever: its
    first occurrence on a path is inlined, the nested one becomes a local
    `#/$defs/<name>` reference, and the definition is kept once under the root's `$defs`.
    `definitions` is only called when there is a `$ref` to resolve (CRD schemas have none).
    """
    kept: dict[str, Any] = {}

    def table() -> Schema:
        defs: Schema = definitions()["$defs"]
        return defs

    def inline(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        name = _definition_name(node.get("$ref"))
        if name is None:
            return {key: inline(value, stack) for key, value in node.items()}
        siblings = {key: inline(value, stack) for key, value in node.items() if key != "$ref"}
        if name in stack:
            if name not in kept:
                kept[name] = {}  # placeholder: the definition is being expanded below
                kept[name] = inline(table()[name], (name,))
            return {"$ref": f"#/$defs/{_escape_pointer(name)}", **siblings}
        return _with_siblings(inline(table()[name], (*stack, name)), siblings)

    out: Schema = inline(schema, ())
    out.pop("$id", None)  # local refs must resolve against the file itself
    if kept:
        out["$defs"] = {**out.get("$defs", {}), **kept}
    return out


def _definition_name(ref: Any) -> str | None:
    """`/api/_definitions.json#/$defs/X` or `#/$defs/X` -> `X`; other refs -> None."""
    if not isinstance(ref, str):
        return None
    document, _, fragment = ref.partition("#")
    if document not in ("", "/api/_definitions.json", DEFINITIONS_ID):
        return None
    if not fragment.startswith("/$defs/"):
        return None
    return fragment.removeprefix("/$defs/").replace("~1", "/").replace("~0", "~")


def _escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _with_siblings(target: Any, siblings: Schema) -> Any:
    """A resolved `$ref` plus the keywords written next to it (usually a description)."""
    if not siblings:
        return target
    if isinstance(target, dict) and all(
        key in _ANNOTATIONS or key.startswith("x-") or key not in target for key in siblings
    ):
        return {**target, **siblings}
    return {"allOf": [target], **siblings}


def _read_json(path: Path) -> Schema:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read JSON schema: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: a JSON schema must be an object, not {type(data).__name__}")
    return data


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))
