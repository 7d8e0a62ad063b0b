"""Typed reads of the Kubernetes object fields the policy rules look at.

Built objects are raw dicts that schema validation judges separately, so a policy rule
may see any shape here: every accessor tolerates missing or mistyped fields and yields
nothing for them instead of raising.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gitops_gen.model import Manifest

# Where each workload kind keeps its Pod spec, as a path of mapping keys from the object.
POD_SPEC_PATHS: Mapping[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


@dataclass(frozen=True)
class Container:
    """One entry of a Pod spec's `containers` or `initContainers`."""

    field: str  # "containers" or "initContainers"
    spec: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.spec.get("name") or "?")

    def label(self) -> str:
        """How messages name the container: `container "app"` / `initContainer "migrate"`."""
        return f'{self.field[:-1]} "{self.name}"'


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    """`value` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def dig(obj: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    """The mapping at `path` below `obj`, empty where any step is missing or not a mapping."""
    node = obj
    for key in path:
        node = mapping(node.get(key))
    return node


def pod_spec(manifest: Manifest) -> Mapping[str, Any] | None:
    """The Pod spec of a workload object, None for kinds that do not run Pods."""
    path = POD_SPEC_PATHS.get(manifest.kind)
    return None if path is None else dig(manifest.obj, path)


def containers(manifest: Manifest, *, init: bool = True) -> Iterator[Container]:
    """The containers (and, unless `init=False`, init containers) of a workload object."""
    spec = pod_spec(manifest)
    if spec is None:
        return
    fields = ("initContainers", "containers") if init else ("containers",)
    for field in fields:
        for entry in items(spec.get(field)):
            yield Container(field, mapping(entry))


def ingress_hosts(manifest: Manifest) -> set[str]:
    """The hosts an Ingress routes or terminates TLS for, lower-cased, trailing dot dropped.

    DNS names are case-insensitive and `a.example.com.` is `a.example.com`, so both
    spellings must count as the same host when comparing customers.
    """
    if manifest.kind != "Ingress":
        return set()
    spec = mapping(manifest.obj.get("spec"))
    hosts = [mapping(rule).get("host") for rule in items(spec.get("rules"))]
    for tls in items(spec.get("tls")):
        hosts.extend(items(mapping(tls).get("hosts")))
    return {h.strip().rstrip(".").lower() for h in hosts if isinstance(h, str) and h.strip()}
