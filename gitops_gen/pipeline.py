"""The stages of a `validate` run, as validate.py's `validate_tree` runs them.

specs → drift → build (helm/kustomize, as the Applications say) → Kubernetes and CRD
schemas → policy. Problems are `Finding`s; only a run that cannot go on raises.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace

from gitops_gen.argocd import applications, argocd_objects, helm_kube_version
from gitops_gen.asbuilt import AsBuilt
from gitops_gen.build import BuildOptions, build_all
from gitops_gen.buildcache import BuildCache
from gitops_gen.compiler import plan_compile
from gitops_gen.datafiles import datafile_findings
from gitops_gen.k8s_schemas import SchemaStore
from gitops_gen.model import BuildResult, Manifest, RenderedFile
from gitops_gen.platform import SCHEMA_DIR, Platform
from gitops_gen.policy import Fleet
from gitops_gen.removals import removal_findings
from gitops_gen.reporters import ordered
from gitops_gen.spec import load_all
from gitops_gen.speccache import spec_cache
from gitops_gen.stagetimes import timed
from gitops_gen.toolchain import cache_root, find_toolchain
from gitops_gen.tree import TreeChange, drift_findings
from gitops_gen.validatememo import fleet_stand_ins
from gitops_gen.validatereport import Earlier, Report, ValidateOptions
from gitops_gen.validators import SchemaValidator, select_backend


def partial_validate(
    platform: Platform, customers: Sequence[str] | None, options: ValidateOptions,
    earlier: Earlier | None = None,
) -> Report:
    """`validate_tree` without the memo. `earlier`: what an earlier run found of the
    customers not validated now: their checked specs (not read again), and their objects
    that fleet-wide policy rules compare (ingress hosts), which those rules judge again."""
    others = earlier.fleet if earlier else {}
    report = Report(checks=["spec", "drift", "build"])
    with _stage(report, "specs"):
        known = {**(options.written.specs if options.written else {}),
                 **(earlier.specs if earlier else {})}
        specs = load_all(platform, cache=spec_cache(platform) if options.cache else None,
                         known=known, jobs=options.jobs)
    with _stage(report, "drift"):
        if options.written is None:
            plan = plan_compile(platform, specs, only=customers, cache=options.cache,
                                jobs=options.jobs)
            change, wanted = plan.change, plan.wanted
        else:  # the tree holds what was just written from these specs: nothing differs
            change, wanted = TreeChange(), _of_customers(options.written.files, customers)
    names = list(customers) if customers is not None else [s.name for s in specs]
    report.customers = names
    with _stage(report, "drift"):
        report.findings.extend(drift_findings(platform, change, wanted))
        report.findings.extend(earlier.removals if earlier and earlier.removals is not None
                               else removal_findings(platform, options.base))
        report.findings.extend(datafile_findings(platform, names))
    store = SchemaStore(platform.kube_version, [platform.path(SCHEMA_DIR)])
    backend = _schema_backend(platform, options, store)
    with _stage(report, "build"):
        # what the drift check just found equal to compile's output need not be read again
        unchanged = {rel: r.content for rel, r in wanted.items() if rel not in change.writes}
        generated, unreadable = argocd_objects(
            platform.root, ((rel, r.customer) for rel, r in wanted.items()), unchanged)
        report.findings.extend(unreadable)
        checks = AsBuilt(platform, backend, generated, others)  # schema, policy as built
        builds = _build(platform, applications(generated), options, report, store.version,
                        checks)
    manifests = list(generated)
    for result in builds.values():
        report.findings.extend(result.findings)
        manifests.extend(result.manifests)
    report.objects = len(manifests)
    report.findings.extend(checks.findings)
    with _stage(report, "schema"):
        report.checks.append(f"schema ({backend.name})")
        report.findings.extend(checks.schema_rest(generated, manifests))
    with _stage(report, "policy"):
        by_customer: dict[str, list[Manifest]] = {}
        for manifest in manifests:
            by_customer.setdefault(manifest.customer, []).append(manifest)
        fleet = Fleet({**others, **by_customer}, platform.namespace_for,
                      platform.extra_namespaces_for)
        report.findings.extend(checks.policy_rest(by_customer, fleet))
    report.checks.append("policy")
    report.objects_of = {c: len(m) for c, m in by_customer.items()}
    report.fleet = {c: list(ms) for c, ms in others.items() if c not in by_customer}
    report.specs = {spec.name: spec.data for spec in specs}
    report.fleet.update({c: fleet_stand_ins(ms) for c, ms in by_customer.items()})
    # platform-wide objects carry customer "" inside; a finding about them names no one
    unique = {replace(f, customer=f.customer or None) for f in report.findings}
    report.findings = ordered(list(unique))
    return report


def _of_customers(files: Mapping[str, RenderedFile],
                  customers: Sequence[str] | None) -> dict[str, RenderedFile]:
    """What `plan_compile(only=customers)` renders of `files`: those customers' files
    and the platform-wide ones."""
    chosen = None if customers is None else set(customers)
    return {rel: f for rel, f in files.items()
            if chosen is None or f.customer is None or f.customer in chosen}


def _stage(report: Report, name: str) -> AbstractContextManager[None]:
    return timed(report.timings, name)


def _build(platform: Platform, apps: Mapping[str, list[Manifest]], options: ValidateOptions,
           report: Report, kube_version: str, checks: AsBuilt) -> dict[str, BuildResult]:
    """Every customer app built (or taken from the build cache), each customer's objects
    handed to `checks` as soon as they are."""
    toolchain = find_toolchain(platform.tools)
    jobs = options.jobs or os.cpu_count() or 1
    cache = BuildCache(cache_root() / "builds") if options.cache else None
    build_options = BuildOptions(cache=cache, progress=options.progress, stats=report.build,
                                 on_customer=checks.check)
    return build_all(platform.root, apps, toolchain, helm_kube_version(kube_version), jobs,
                     build_options)


def _schema_backend(platform: Platform, options: ValidateOptions,
                    store: SchemaStore) -> SchemaValidator:
    """The schema check `--backend` (or the config) asks for, before the build: a
    backend that cannot be had stops the run before it builds anything."""
    backend_name = options.backend if options.backend != "auto" else str(
        platform.validation.get("backend") or "auto")
    return select_backend(backend_name,  # type: ignore[arg-type]
                          store, platform.validation.get("skipKinds") or [])
