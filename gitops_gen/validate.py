"""Check everything Argo CD will apply (see "What validate checks" in the design).

specs → drift → build (helm/kustomize, as the Applications say) → Kubernetes and CRD
schemas → policy. Problems are `Finding`s; only a run that cannot go on raises.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from gitops_gen.argocd import applications, argocd_objects, helm_kube_version
from gitops_gen.build import build_all
from gitops_gen.compiler import plan_compile
from gitops_gen.k8s_schemas import SchemaStore
from gitops_gen.model import Finding, Manifest
from gitops_gen.platform import SCHEMA_DIR, Platform, load_platform
from gitops_gen.policy import run_policy
from gitops_gen.reporters import ordered
from gitops_gen.toolchain import find_toolchain
from gitops_gen.transaction import Validate
from gitops_gen.tree import drift_findings
from gitops_gen.validators import select_backend


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
    generated, unreadable = argocd_objects(
        platform.root, ((rel, r.customer) for rel, r in plan.wanted.items()))
    report.findings.extend(unreadable)
    apps = applications(generated)
    toolchain = find_toolchain(platform.tools)
    jobs = options.jobs or os.cpu_count() or 1
    store = SchemaStore(platform.kube_version, [platform.path(SCHEMA_DIR)])
    builds = build_all(platform.root, apps, toolchain, helm_kube_version(store.version), jobs)
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
    report.findings.extend(run_policy(by_customer, platform.policy, platform.namespace_for,
                                      platform.extra_namespaces_for))
    report.checks.append("policy")
    # platform-wide objects carry customer "" inside; a finding about them names no one
    unique = {replace(f, customer=f.customer or None) for f in report.findings}
    report.findings = ordered(list(unique))
    return report


ValidateFactory = Callable[[Platform, Sequence[str] | None], Validate]


def validator_for_commands(platform: Platform, customers: Sequence[str] | None) -> Validate:
    """What add/remove/bump-image run before they commit: the tree as now written,
    gitops-gen.yaml included (bump-image changes it)."""
    return lambda: validate_tree(load_platform(platform.root), customers).findings
