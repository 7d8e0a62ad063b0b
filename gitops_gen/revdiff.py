"""What a change does to the cluster: the objects of every customer app at a revision
against those of the working tree.

The revision's platform root is checked out into a temporary directory (the repository
is not touched); each side's Argo CD objects are read from its generated files, and the
apps are built there exactly as `validate` builds them. A customer is built only when its
inputs (see `appinputs`) differ between the sides; the working tree is taken as it is on
disk, so run `gitops-gen compile` first to see what a spec edit does.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from gitops_gen.appinputs import InputDigests
from gitops_gen.argocd import ARGOCD_GROUP, applications, argocd_objects, helm_kube_version
from gitops_gen.build import build_all
from gitops_gen.errors import InputError
from gitops_gen.gitrepo import open_repo
from gitops_gen.k8s_schemas import resolve_version
from gitops_gen.model import BuildResult, Finding, Manifest
from gitops_gen.objdiff import DiffReport, diff_objects
from gitops_gen.platform import CONFIG_FILE, Platform, load_platform
from gitops_gen.toolchain import find_toolchain
from gitops_gen.tree import generated_files

PLATFORM_GROUP = ""  # the "customer" of platform-wide Argo CD objects (the AppProject)


@dataclass(frozen=True)
class DiffOptions:
    ignore_noise: bool = True
    jobs: int = 0  # 0 = one per core


@dataclass(frozen=True)
class _Side:
    """One tree: its Argo CD objects (by customer), the apps they define, and the
    Kubernetes version its apps are built for."""

    root: Path
    label: str  # how findings name the side: the revision, or "" for the working tree
    kube_version: str = ""
    objects: Mapping[str, list[Manifest]] = field(default_factory=dict)
    apps: Mapping[str, list[Manifest]] = field(default_factory=dict)  # Applications
    findings: list[Finding] = field(default_factory=list)

    def objects_of(self, customer: str) -> list[Manifest]:
        return self.objects.get(customer, [])


def diff_revision(platform: Platform, base: str, options: DiffOptions) -> DiffReport:
    """The objects that change, per customer, from revision `base` to the working tree."""
    repo = open_repo(platform.root)
    if repo is None:
        raise InputError(f"{platform.root} is not inside a git repository: "
                         "diff compares the working tree with a git revision")
    sha = repo.commit_of(base)
    with tempfile.TemporaryDirectory(prefix="gitops-gen-diff-") as tmp:
        base_root = Path(tmp) / "base"
        base_root.mkdir()
        exported = repo.export_platform(sha, base_root)
        old = _load_side(base_root, base) if exported else _Side(base_root, base)
        new = _load_side(platform.root, "")
        return _compare(platform, old, new, DiffReport(base, sha), options)


def _load_side(root: Path, label: str) -> _Side:
    if not (root / CONFIG_FILE).is_file():
        return _Side(root, label)  # no platform at that revision yet: all is added
    try:
        platform = load_platform(root)
        kube_version = helm_kube_version(resolve_version(platform.kube_version))
    except InputError as exc:
        raise InputError(f"at {label}: {exc}" if label else str(exc)) from None
    # Only files that can hold an Argo CD object are parsed (Helm values are most of the
    # tree); any other file that does not parse fails its app's build instead.
    files = [(rel, customer) for rel, customer in generated_files(platform)
             if ARGOCD_GROUP.encode() in (root / rel).read_bytes()]
    objects, findings = argocd_objects(root, files)
    by_customer: dict[str, list[Manifest]] = {}
    for manifest in objects:
        by_customer.setdefault(manifest.customer, []).append(manifest)
    return _Side(root, label, kube_version, by_customer, applications(objects), findings)


def _compare(platform: Platform, old: _Side, new: _Side, report: DiffReport,
             options: DiffOptions) -> DiffReport:
    report.failures = [*_labelled(old.label, old.findings), *new.findings]
    names = sorted((old.objects.keys() | new.objects.keys()) - {PLATFORM_GROUP})
    report.rebuilt, report.unchanged = _split_by_inputs(names, old, new)
    builds = _build(platform, report.rebuilt, (old, new), options.jobs)
    for name in [PLATFORM_GROUP, *report.rebuilt]:
        before, after = builds[0].get(name), builds[1].get(name)
        failed = [f for b in (before, after) if b for f in b.findings]
        if failed:
            report.failures += failed
            continue
        diff = diff_objects(
            name,
            old.objects_of(name) + (before.manifests if before else []),
            new.objects_of(name) + (after.manifests if after else []),
            ignore_noise=options.ignore_noise,
        )
        if diff.changes or diff.noise_only:
            report.customers.append(diff)
    return report


def _split_by_inputs(names: list[str], old: _Side, new: _Side) -> tuple[list[str], list[str]]:
    """(customers to rebuild, customers whose inputs are the same on both sides)."""
    digests = [InputDigests(side.root, side.kube_version) for side in (old, new)]
    rebuild: list[str] = []
    same: list[str] = []
    for name in names:
        found = [d.digest(s.objects_of(name)) if name in s.apps else None
                 for d, s in zip(digests, (old, new), strict=True)]
        (same if found[0] is not None and found[0] == found[1] else rebuild).append(name)
    return rebuild, same


def _build(platform: Platform, names: list[str], sides: tuple[_Side, _Side],
           jobs: int) -> list[Mapping[str, BuildResult]]:
    if not names:
        return [{}, {}]
    toolchain = find_toolchain(platform.tools)
    jobs = jobs or os.cpu_count() or 1
    wanted = set(names)
    results: list[Mapping[str, BuildResult]] = []
    for side in sides:
        apps = {name: app for name, app in side.apps.items() if name in wanted}
        built = build_all(side.root, apps, toolchain, side.kube_version, jobs)
        results.append({n: _labelled_result(side.label, r) for n, r in built.items()})
    return results


def _labelled_result(label: str, result: BuildResult) -> BuildResult:
    result.findings = _labelled(label, result.findings)
    return result


def _labelled(label: str, findings: list[Finding]) -> list[Finding]:
    """Findings of the revision's side say so: their files are the revision's."""
    if not label:
        return findings
    return [replace(f, message=f"at {label}: {f.message}") for f in findings]
