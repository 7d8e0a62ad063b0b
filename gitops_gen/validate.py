"""Check everything Argo CD will apply (see "What validate checks" in the design).

specs → drift → build (helm/kustomize, as the Applications say) → Kubernetes and CRD
schemas → policy. Problems are `Finding`s; only a run that cannot go on raises.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from gitops_gen.build import GoYamlLoader, build_all
from gitops_gen.compiler import plan_compile
from gitops_gen.k8s_schemas import SchemaStore
from gitops_gen.model import Finding, Manifest, RenderedFile
from gitops_gen.platform import SCHEMA_DIR, Platform
from gitops_gen.policy import run_policy
from gitops_gen.reporters import ordered
from gitops_gen.toolchain import find_toolchain
from gitops_gen.transaction import Validate
from gitops_gen.tree import drift_findings
from gitops_gen.validators import select_backend

ARGOCD_GROUP = "argoproj.io/"
APPLICATION_KIND = ("argoproj.io/v1alpha1", "Application")


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    objects: int = 0
    checks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ValidateOptions:
    backend: str = "auto"
    jobs: int = 0  # 0 = one per core


def validate_tree(
    platform: Platform, customers: Sequence[str] | None = None,
    options: ValidateOptions | None = None,
) -> Report:
    """Validate the tree; with `customers`, only their apps are built (specs and
    fleet-wide uniqueness are always checked for everyone)."""
    options = options or ValidateOptions()
    plan = plan_compile(platform, only=customers)
    names = list(customers) if customers is not None else [s.name for s in plan.specs]
    report = Report(customers=names, checks=["spec", "drift", "build"])
    report.findings.extend(drift_findings(platform, plan.change, plan.wanted))
    generated, unreadable = _generated_objects(platform, plan.wanted)
    report.findings.extend(unreadable)
    apps = _applications(generated)
    toolchain = find_toolchain(platform.tools)
    jobs = options.jobs or os.cpu_count() or 1
    store = SchemaStore(platform.kube_version, [platform.path(SCHEMA_DIR)])
    builds = build_all(platform.root, apps, toolchain, _kube_version(store), jobs)
    manifests = list(generated)
    for result in builds.values():
        report.findings.extend(result.findings)
        manifests.extend(result.manifests)
    report.objects = len(manifests)
    backend_name = options.backend if options.backend != "auto" else str(
        platform.validation.get("backend") or "auto")
    backend = select_backend(backend_name,  # type: ignore[arg-type]
                             store, platform.validation.get("skipKinds") or [])
    report.checks.append(f"schema ({backend.name})")
    report.findings.extend(backend.validate(manifests))
    by_customer: dict[str, list[Manifest]] = {}
    for manifest in manifests:
        by_customer.setdefault(manifest.customer, []).append(manifest)
    report.findings.extend(run_policy(by_customer, platform.policy, platform.namespace_for))
    report.checks.append("policy")
    # platform-wide objects carry customer "" inside; a finding about them names no one
    unique = {replace(f, customer=f.customer or None) for f in report.findings}
    report.findings = ordered(list(unique))
    return report


ValidateFactory = Callable[[Platform, Sequence[str] | None], Validate]


def validator_for_commands(platform: Platform, customers: Sequence[str] | None) -> Validate:
    """What add/remove/bump-image run before they commit."""
    return lambda: validate_tree(platform, customers).findings


def _kube_version(store: SchemaStore) -> str:
    """`1.37`: Argo CD passes the cluster's major.minor to `helm template --kube-version`."""
    return ".".join(store.version.split(".")[:2])


def _generated_objects(
    platform: Platform, wanted: dict[str, RenderedFile]
) -> tuple[list[Manifest], list[Finding]]:
    """The Argo CD objects in generated files, as they are on disk (what Argo CD reads).

    Other objects in the tree (a customer overlay's Namespace, say) reach the cluster
    only through a build, so they are validated as built, not as written.
    """
    out: list[Manifest] = []
    findings: list[Finding] = []
    for rel, rendered in sorted(wanted.items()):
        path = platform.path(rel)
        if not path.is_file():
            continue
        try:
            docs = list(yaml.load_all(path.read_bytes(), Loader=GoYamlLoader))
        except yaml.YAMLError as exc:
            findings.append(Finding(rel, None, rendered.customer, "yaml", f"not valid YAML: {exc}"))
            continue
        for doc in docs:
            if isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith(ARGOCD_GROUP):
                out.append(Manifest(customer=rendered.customer or "", obj=doc, source=rel))
    return out, findings


def _applications(manifests: Sequence[Manifest]) -> dict[str, dict[str, Any]]:
    return {
        m.customer: m.obj for m in manifests
        if (m.api_version, m.kind) == APPLICATION_KIND and m.customer
    }
