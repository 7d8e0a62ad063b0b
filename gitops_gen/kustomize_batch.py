"""Many kustomize overlays built by one kustomize process.

`kustomize build` of one overlay costs ~45 ms, ~40 of them process start-up. Here a
temporary root kustomization lists overlays as resources (a directory outside the root
is a base the default load restrictor allows; it must be a relative path) and sets
`buildMetadata: [originAnnotations]`, so each object of the one output names the file
it came from. An object is given back to the overlay holding that file, with the
annotation removed (and `annotations` with it if nothing else is left: kustomize drops
an empty one too). tests/test_fast_builds.py shows the result equals per-overlay
builds.

That attribution is exact only for overlays the caller vouches for (build.py): each
reaches nothing outside its own directory, none lies inside another, and none sets
`buildMetadata` or `sortOptions` itself. A batch that fails (one broken overlay, two
overlays defining the same cluster-scoped object) is split in halves and retried down
to `SOLO` overlays; what is still not built is left to per-overlay builds, so each error
is reported on its own customer exactly as without batching.

Batches hold consecutive overlays in sorted order (`submit_overlays`), so a build that
takes customers in that order can go on with the first ones while later batches run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from gitops_gen.goyaml import load, load_all, objects_of_value
from gitops_gen.procs import ToolFailed, go_gc_env, run

ORIGIN = "config.kubernetes.io/origin"
SOLO = 2  # a failing batch this small is not split further: its overlays build alone
# kustomize's cost per overlay grows with the batch (1.25 ms each at 250-500 overlays,
# 1.35 at 1,000, 2.3 at 4,000: it checks each new resource against all before it)
BATCH_MAX = 400
Objects = list[dict[str, Any]]


def build_overlays(overlays: Sequence[Path], kustomize_cmd: Sequence[str],
                   jobs: int) -> dict[Path, Objects]:
    """The objects of every overlay (absolute, resolved paths) that built in a batch;
    an overlay missing from the result must be built on its own."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # one process per core
        return results_of(submit_overlays(overlays, kustomize_cmd, jobs, pool))


def submit_overlays(overlays: Sequence[Path], kustomize_cmd: Sequence[str], jobs: int,
                    pool: Executor) -> dict[Path, Future[dict[Path, Objects]]]:
    """`build_overlays` as batches sent to `pool`, in the overlays' sorted order: each
    overlay's batch (whose result holds it if it built), so that a caller taking them in
    order waits for the first batches only, not for all of them."""
    futures: dict[Path, Future[dict[Path, Objects]]] = {}
    for chunk in batches(overlays, jobs):
        future = pool.submit(_build_or_split, chunk, kustomize_cmd)
        futures.update(dict.fromkeys(chunk, future))
    return futures


def batches(overlays: Sequence[Path], jobs: int) -> list[list[Path]]:
    """The overlays in sorted order, cut into batches of at most `BATCH_MAX` and of
    sizes that differ by one at most, as many as a multiple of `jobs` while each holds
    `SOLO` (three batches on two cores left the last one running alone); none for fewer
    than two overlays."""
    unique = sorted(set(overlays))
    if len(unique) < 2:
        return []
    rounds = -(-len(unique) // (BATCH_MAX * max(jobs, 1)))
    count = max(min(rounds * max(jobs, 1), len(unique) // SOLO), 1)
    return [unique[len(unique) * i // count:len(unique) * (i + 1) // count]
            for i in range(count)]


def results_of(batches: dict[Path, Future[dict[Path, Objects]]]) -> dict[Path, Objects]:
    """What `submit_overlays`' batches built, once they are all done."""
    built: dict[Path, Objects] = {}
    for batch in {id(future): future for future in batches.values()}.values():
        built.update(batch.result())
    return built


def _build_or_split(overlays: list[Path], kustomize_cmd: Sequence[str]) -> dict[Path, Objects]:
    built = _build_batch(overlays, kustomize_cmd)
    if built is not None:
        return built
    if len(overlays) <= SOLO:
        return {}
    half = len(overlays) // 2
    return {**_build_or_split(overlays[:half], kustomize_cmd),
            **_build_or_split(overlays[half:], kustomize_cmd)}


def _build_batch(overlays: list[Path], kustomize_cmd: Sequence[str]) -> dict[Path, Objects] | None:
    with tempfile.TemporaryDirectory(prefix="gitops-gen-kbatch-") as tmp:
        root = Path(tmp).resolve()
        write_batch_root(root, overlays)
        try:
            out = run([*kustomize_cmd, str(root)], cwd=root, env=go_gc_env()).stdout
        except ToolFailed:
            return None
        try:
            return _attribute(root, overlays, out)
        except (yaml.YAMLError, ValueError, KeyError, TypeError):
            return None


def write_batch_root(root: Path, overlays: Sequence[Path]) -> None:
    """The kustomization in the directory `root` that builds `overlays` as one, each
    object annotated with the file it came from."""
    resources = [os.path.relpath(overlay, root) for overlay in overlays]
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1",
                     "kind": "Kustomization", "buildMetadata": ["originAnnotations"],
                     "resources": resources}
    (root / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), "utf-8")


def _attribute(root: Path, overlays: list[Path], out: str) -> dict[Path, Objects]:
    """Each object of the batch output under the overlay its origin file lies in."""
    built: dict[Path, Objects] = {overlay: [] for overlay in overlays}
    for doc in load_all(out):
        for obj in objects_of_value(doc):
            origin_file = Path(_pop_origin(root, obj))
            owner = next((d for d in origin_file.parents if d in built), None)
            if owner is None:
                raise ValueError(f"cannot tell which overlay {origin_file} belongs to")
            built[owner].append(obj)
    return built


def _pop_origin(root: Path, obj: dict[str, Any]) -> str:
    """Remove the origin annotation; the absolute file it names."""
    annotations = obj["metadata"]["annotations"]
    origin = load(annotations.pop(ORIGIN))
    if not annotations:
        del obj["metadata"]["annotations"]
    relative = origin.get("path") or origin["configuredIn"]
    if origin.get("repo"):
        raise ValueError("an object from a remote base")
    return os.path.normpath(root / str(relative))
