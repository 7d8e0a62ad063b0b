"""Typed values that flow between the stages: spec -> render -> build -> validate -> commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any


@dataclass(frozen=True)
class RenderedFile:
    """A file the compiler wants in the tree, at a repo-relative POSIX path."""

    path: str
    content: bytes
    customer: str | None  # None for platform-wide files


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object built from a customer app, as Argo CD would apply it."""

    customer: str
    obj: dict[str, Any]
    source: str  # repo-relative file the object came from (chart template or overlay file)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", ""))

    @property
    def name(self) -> str:
        meta = self.obj.get("metadata")
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    @property
    def namespace(self) -> str:
        meta = self.obj.get("metadata")
        return str(meta.get("namespace") or "") if isinstance(meta, dict) else ""

    def ident(self) -> str:
        """`Kind/namespace/name`, the way findings and diffs name an object."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else (
            f"{self.kind}/{self.name}"
        )


@dataclass(frozen=True, order=True)
class Finding:
    """One problem in the tree. Findings make `validate` exit 1; they are values, not errors."""

    file: str  # repo-relative path
    line: int | None
    customer: str | None
    rule: str  # rule id, e.g. "schema", "drift", "policy/image-tag"
    message: str

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass
class BuildResult:
    """What building one customer app produced: objects, or the findings that stopped it."""

    customer: str
    manifests: list[Manifest] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def customer_of_path(path: str) -> str | None:
    """The customer a `customers/<name>.yaml` spec path belongs to."""
    p = PurePosixPath(path)
    if len(p.parts) == 2 and p.parts[0] == "customers" and p.suffix == ".yaml":
        return p.stem
    return None


@dataclass
class BuildStats:
    """What a `build_all` run did (build.py), for --timings and tests."""

    applications: int = 0
    cached: int = 0  # taken from the build cache
    built: int = 0  # built now (helm/kustomize, or the in-process helm)
    batched_overlays: int = 0  # kustomize overlays built in a batch
    cached_overlays: int = 0  # kustomize overlays taken from the cache (overlaycache.py)
    in_process_helm: int = 0  # helm sources rendered in-process
    values_checked_here: int = 0  # of those, values.schema.json checked by ValuesSchema
    worker_processes: int = 0  # processes the in-process helm rendered in
