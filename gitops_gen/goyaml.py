"""YAML as Argo CD reads it: Go's YAML 1.1 types, and documents as Kubernetes objects.

Shared by everything that reads tool output or generated files (build, the kustomize
batch, argocd, appinputs), so that all of them agree on what a document means.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

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
    return objects_of_value(yaml.load(chunk, Loader=GoYamlLoader))


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
    """


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
