"""Every container sets CPU and memory requests and limits.

Applies to `containers` and `initContainers` of Pods and of the Pod templates of
Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs and
CronJobs. Each needs all four of:

```yaml
resources:
  requests: {cpu: 100m, memory: 128Mi}
  limits: {cpu: 500m, memory: 256Mi}
```

One finding per container names every value it is missing. Kubernetes would copy a
missing request from the limit, but the rule wants both written down: requests decide
where the scheduler packs a customer, limits stop one customer from starving the others
on a shared node. Set them per tier in the platform config, or per customer in its spec.
"""

from __future__ import annotations

from collections.abc import Iterator

from gitops_gen.model import Finding
from gitops_gen.policy.context import PolicyContext, finding
from gitops_gen.policy.objects import Container, containers, mapping

ID = "resources"

_REQUIRED = (
    ("requests", "cpu"),
    ("requests", "memory"),
    ("limits", "cpu"),
    ("limits", "memory"),
)


def check(ctx: PolicyContext) -> Iterator[Finding]:
    for manifest in ctx.manifests:
        for container in containers(manifest):
            missing = missing_resources(container)
            if missing:
                text = f"{container.label()} does not set {', '.join(missing)}"
                yield finding(ID, manifest, text)


def missing_resources(container: Container) -> list[str]:
    """The `resources.<section>.<name>` paths a container leaves unset or empty."""
    resources = mapping(container.spec.get("resources"))
    return [
        f"resources.{section}.{name}"
        for section, name in _REQUIRED
        if mapping(resources.get(section)).get(name) in (None, "")
    ]
