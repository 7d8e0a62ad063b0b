"""No Secret in the tree carries values: secrets come from references.

A `Secret` object with a non-empty `data` or `stringData` is a finding, whichever file
of the tree it was built from: anything committed to the platform repo is readable by
everyone who can clone it, forever (git history keeps it after a delete). Customer specs
refer to secrets instead, e.g. by ExternalSecret key, and the operator in the cluster
creates the Secret:

```yaml
kind: ExternalSecret
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: vault}
  target: {name: acme-db}
  data:
    - secretKey: password
      remoteRef: {key: customers/acme/db, property: password}
```

The finding names the Secret and its keys, never a value. A Secret with no values (for
example one Kubernetes fills in itself, such as a service-account token) passes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from gitops_gen.model import Finding
from gitops_gen.policy.context import PolicyContext, finding

ID = "secret-data"

_VALUE_FIELDS = ("data", "stringData")
_ADVICE = "refer to the secret (e.g. an ExternalSecret) instead"


def check(ctx: PolicyContext) -> Iterator[Finding]:
    for manifest in ctx.manifests:
        if manifest.kind != "Secret":
            continue
        described = [d for f in _VALUE_FIELDS if (d := _describe(f, manifest.obj.get(f)))]
        if described:
            held = "; ".join(described)
            yield finding(ID, manifest, f"holds plaintext values in git ({held}); {_ADVICE}")


def _describe(field: str, values: Any) -> str:
    """`data` keys, by name only: the message must never echo a secret value."""
    if not values:
        return ""
    if isinstance(values, Mapping):
        return f"{field} keys: {', '.join(sorted(map(str, values)))}"
    return field
