"""The Argo CD objects of a generated tree, as Argo CD reads them before any build.

`validate` checks them and builds the apps they name; `diff` does the same on two trees
(a revision and the working tree), so both read them here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import yaml

from gitops_gen.docshapes import Shapes
from gitops_gen.model import Finding, Manifest
from gitops_gen.resolver import is_within

ARGOCD_GROUP = "argoproj.io/"
_GROUP_NAME = b"argoproj"  # in the bytes of any file holding an Argo CD object as emitted
APPLICATION_KIND = ("argoproj.io/v1alpha1", "Application")
_FILES = Shapes()  # the generated files read so far (docshapes.py)


def argocd_objects(
    root: Path, files: Iterable[tuple[str, str | None]],
    generated: Mapping[str, bytes] | None = None,
) -> tuple[list[Manifest], list[Finding]]:
    """The Argo CD objects in `files` ((repo-relative path, customer or None) pairs), as
    they are on disk; missing files are skipped, unreadable ones are findings.

    Other objects in the tree (a customer overlay's Namespace, say) reach the cluster
    only through a build, so they are taken as built, not as written. `generated`: files
    known to hold exactly these bytes, as compile writes them (the caller has just
    compared them): not read again, and not parsed unless they mention Argo CD's API
    group (compile's output is valid YAML; most of it is values and overlays).
    """
    out: list[Manifest] = []
    findings: list[Finding] = []
    for rel, customer in sorted(files, key=lambda item: item[0]):
        known = generated.get(rel) if generated is not None else None
        if known is not None and _GROUP_NAME not in known:
            continue
        path = root / rel
        if known is None and not path.is_file():
            continue
        if known is None and path.is_symlink() and not is_within(path.resolve(), root.resolve()):
            # not read (nothing of it may reach a message): Argo CD refuses such a link
            findings.append(Finding(rel, None, customer, "yaml", "a symlink that resolves "
                                    "outside the repository: not read"))
            continue
        data = known if known is not None else path.read_bytes()
        try:
            # every customer's file of one output rule mostly reads as the last one did
            docs = _FILES.load_all(rel.replace(customer, "\0") if customer else rel, data)
        except yaml.YAMLError as exc:
            findings.append(Finding(rel, None, customer, "yaml", f"not valid YAML: {exc}"))
            continue
        for doc in docs:
            if isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith(ARGOCD_GROUP):
                out.append(Manifest(customer=customer or "", obj=doc, source=rel))
    return out, findings


def applications(manifests: Sequence[Manifest]) -> dict[str, list[Manifest]]:
    """Each customer's Applications, by customer: a customer may have several (one per
    cluster it deploys to, say), all of them built and checked."""
    apps: dict[str, list[Manifest]] = {}
    for m in manifests:
        if (m.api_version, m.kind) == APPLICATION_KIND and m.customer:
            apps.setdefault(m.customer, []).append(m)
    return apps


def helm_kube_version(version: str) -> str:
    """`1.37.0` -> `1.37`: Argo CD passes the cluster's major.minor to
    `helm template --kube-version`."""
    return ".".join(version.split(".")[:2])
