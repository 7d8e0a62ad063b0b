"""Every container of a long-running workload has a liveness and a readiness probe.

Applies to the `containers` of Deployments, StatefulSets and DaemonSets. Jobs, CronJobs
and bare Pods run to completion or are not rolled out, and init containers finish before
the Pod is ready, so they are exempt.

```yaml
livenessProbe:  {httpGet: {path: /healthz, port: http}}
readinessProbe: {httpGet: {path: /ready, port: http}}
```

One finding per container names the probes it lacks. Why: without a readiness probe a
rollout sends traffic to Pods that are not serving yet and cannot stop a broken image;
without a liveness probe a hung process is never restarted.
"""

from __future__ import annotations

from collections.abc import Iterator

from gitops_gen.model import Finding
from gitops_gen.policy.context import PolicyContext, finding
from gitops_gen.policy.objects import containers

ID = "probes"

LONG_RUNNING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
_PROBES = ("livenessProbe", "readinessProbe")


def check(ctx: PolicyContext) -> Iterator[Finding]:
    for manifest in ctx.manifests:
        if manifest.kind not in LONG_RUNNING_KINDS:
            continue
        for container in containers(manifest, init=False):
            missing = [p for p in _PROBES if not container.spec.get(p)]
            if missing:
                yield finding(ID, manifest, f"{container.label()} has no {' or '.join(missing)}")
