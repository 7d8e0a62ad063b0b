"""Kustomize overlays kept by what they read, apart from the Applications using them.

The build cache keys a whole Application, so a fleet-wide change of Helm values
(`bump-image`) misses for every customer, though not one kustomize overlay changed:
kustomize costs ~3 ms of CPU per overlay even in batches (~30 s for 10,000) to print
what the last run printed. Here each overlay's objects are kept in the same store
(`buildcache.BuildCache`) under a key of their own: `FORMAT`, the kustomize version, the
overlay's repo-relative path and the digest of every file its kustomizations reach
(`appinputs.InputDigests.reach_digest`). An overlay whose reach cannot be told for sure
has no key and is always built, and only overlays that built in a batch are kept: the
batch vouches that an overlay reaches nothing outside itself (kustomize_batch.py).
Objects are kept as kustomize printed them, before build.py puts namespaces in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitops_gen.appinputs import InputDigests
from gitops_gen.buildcache import BuildCache
from gitops_gen.model import BuildResult, Manifest

# Bump whenever what a kustomize build gives for the same files changes (the batch's
# attribution, goyaml.py), or how an entry is stored.
FORMAT = 1

Objects = list[dict[str, Any]]


class OverlayCache:
    """The overlays of one build run, in `cache`."""

    def __init__(self, cache: BuildCache, digests: InputDigests,
                 versions: Mapping[str, str]) -> None:
        self._cache, self._digests = cache, digests
        self._versions = {k: v for k, v in sorted(versions.items()) if k != "helm"}
        self._addresses: dict[Path, tuple[str, str | None]] = {}  # a get's, for its put

    def get(self, overlay: Path) -> Objects | None:
        """The objects kept for `overlay` (absolute) as it is now; None: build it."""
        owner, key = self._address(overlay)
        result = self._cache.get(owner, key) if key else None
        return None if result is None else [m.obj for m in result.manifests]

    def put(self, overlay: Path, objects: Objects) -> None:
        owner, key = self._address(overlay)
        if key:
            manifests = [Manifest(owner, obj, owner) for obj in objects]
            self._cache.put(owner, key, BuildResult(owner, manifests))

    def _address(self, overlay: Path) -> tuple[str, str | None]:
        """(the entry's owner: the overlay's path, its key); no key if its reach is unsure.
        Told once per run: a missed `get` is followed by a `put` of the same overlay."""
        if overlay not in self._addresses:
            rel = overlay.relative_to(self._digests.root).as_posix()
            reach = self._digests.reach_digest(overlay)
            key = None if reach is None else hashlib.sha256(json.dumps(
                [FORMAT, "kustomize overlay", rel, self._versions, reach]).encode()).hexdigest()
            self._addresses[overlay] = (rel, key)
        return self._addresses[overlay]
