"""Every container image is pinned to an explicit tag or a digest.

Applies to `containers` and `initContainers` of Pods and of the Pod templates of
Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs and
CronJobs.

An image is pinned when it ends in `@sha256:<64 hex digits>` (a tag before the digest is
then irrelevant), or when it has a tag that is not `latest`. These are findings:

```yaml
image: nginx                        # no tag: Kubernetes pulls "latest"
image: nginx:latest                 # "latest" moves under a running deployment
image: nginx:                       # empty tag
image: registry:5000/app            # "5000" is the registry port, not a tag
image: nginx@sha256:abc             # not a sha256 digest
```

and these pass:

```yaml
image: nginx:1.27.2
image: registry:5000/app:v3
image: nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31
```

Why: a tag like `latest` means two Pods of one Deployment can run different code, a
rollback cannot go back, and a rollout in git shows no change. Set the tag in the
customer spec (or let `gitops-gen bump-image` set it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gitops_gen.model import Finding
from gitops_gen.policy.context import PolicyContext, finding
from gitops_gen.policy.objects import containers

ID = "image-tag"

_SHA256_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def check(ctx: PolicyContext) -> Iterator[Finding]:
    for manifest in ctx.manifests:
        for container in containers(manifest):
            problem = image_problem(container.spec.get("image"))
            if problem:
                yield finding(ID, manifest, f"{container.label()} {problem}")


def image_problem(image: Any) -> str | None:
    """Why `image` is not pinned, or None when it is."""
    if not isinstance(image, str) or not image.strip():
        return "has no image"
    name, _, digest = image.partition("@")
    if _SHA256_DIGEST.fullmatch(digest):
        return None
    if digest:
        return f'image "{image}" has a malformed digest (want sha256:<64 hex digits>)'
    tag = _tag(name)
    if tag is None:
        return f'image "{image}" has no tag (Kubernetes would pull "latest")'
    if not tag:
        return f'image "{image}" has an empty tag'
    if tag == "latest":
        return f'image "{image}" uses the "latest" tag'
    return None


def _tag(name: str) -> str | None:
    """The tag of `repo[:port]/path[:tag]`, None when there is none.

    Only the last path component can carry a tag: a colon before the last slash is a
    registry port (`registry:5000/app`).
    """
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return last.split(":", 1)[1]
