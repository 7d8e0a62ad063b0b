"""`gitops-gen validate` on a generated fleet: end to end, the builds, the schema backends.

    .venv/bin/python benchmarks/validate.py [--customers 200] [--runs 3]

Scaffolds a platform in a temp dir (`fleet.make_platform`: `gitops-gen init`, one spec per
customer, `gitops-gen compile`), then reports medians of `--runs` runs of:

- `gitops-gen validate --no-cache` end to end (a new process, as the pre-commit hook runs
  it, every build done), with the embedded backend and, when it is on PATH, kubeconform;
- the builds alone (`build_all`, no cache): one helm + one kustomize process per
  customer (the reference path), wall time per customer with one job per core and the
  serial cost on a 20-customer sample; then the default fast paths (kustomize batch,
  in-process helm) with one job per core;
- schema validation of every built object (plus the Argo CD objects): python-jsonschema
  (the baseline), the embedded backend cold (compiling included) and warm, kubeconform.

A script, not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from fleet import byte_compile, gitops_gen, machine, make_platform, timed  # this script's directory
from validate_backends import python_jsonschema

from gitops_gen.build import BuildOptions, GoYamlLoader, build_all
from gitops_gen.k8s_schemas import SchemaStore
from gitops_gen.model import BuildResult, Manifest
from gitops_gen.platform import SCHEMA_DIR, load_platform
from gitops_gen.toolchain import find_toolchain
from gitops_gen.validators.embedded import EmbeddedValidator
from gitops_gen.validators.kubeconform import KubeconformValidator

SERIAL_SAMPLE = 20
# one helm and one kustomize process per customer, as before the fast paths
REFERENCE = BuildOptions(batch_kustomize=False, in_process_helm=False)


def row(label: str, value: str) -> None:
    print(f"{label:<38} {value}")


def validate_cli(root: Path, backend: str) -> Callable[[], object]:
    # --no-cache: every run builds, as the first run on a machine does (fleet_scale.py
    # times the warm cases)
    return lambda: gitops_gen("validate", "--no-cache", "--backend", backend, cwd=root)


def applications(root: Path) -> dict[str, dict[str, Any]]:
    apps = {}
    for path in sorted((root / "gitops/argocd").glob("customer-*.yaml")):
        apps[path.stem.removeprefix("customer-")] = yaml.load(path.read_text(), GoYamlLoader)
    return apps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs, n = args.runs, args.customers
    kubeconform = shutil.which("kubeconform") is not None
    byte_compile()
    print(f"{n} customers, medians of {runs} runs; {machine()}")
    with tempfile.TemporaryDirectory(prefix="gitops-gen-bench-") as tmp:
        start = time.perf_counter()
        root = make_platform(Path(tmp) / "platform", n)
        row(f"init + {n} specs + compile", f"{time.perf_counter() - start:8.2f} s")

        for backend in ("embedded", "kubeconform") if kubeconform else ("embedded",):
            seconds = timed(validate_cli(root, backend), runs)
            row(f"validate --backend {backend}", f"{seconds:8.2f} s end to end")
        if not kubeconform:
            print("kubeconform: not on PATH, its rows are skipped")

        platform = load_platform(root)
        store = SchemaStore(platform.kube_version, [platform.path(SCHEMA_DIR)])
        kube = ".".join(store.version.split(".")[:2])
        tools = find_toolchain(platform.tools)
        apps = applications(root)
        jobs = os.cpu_count() or 1
        results: dict[str, BuildResult] = {}

        def build_fleet() -> None:
            results.update(build_all(root, apps, tools, kube, jobs, REFERENCE))

        wall = timed(build_fleet, runs)
        sample = dict(list(apps.items())[:SERIAL_SAMPLE])
        serial = timed(lambda: build_all(root, sample, tools, kube, 1, REFERENCE), runs)
        fast = timed(lambda: build_all(root, apps, tools, kube, jobs), runs)
        row(f"build, {jobs} jobs", f"{wall / n * 1000:8.1f} ms per customer ({wall:.2f} s)")
        row(f"build, 1 job ({len(sample)} customers)",
            f"{serial / len(sample) * 1000:8.1f} ms per customer")
        row(f"build, fast paths, {jobs} jobs",
            f"{fast / n * 1000:8.1f} ms per customer ({wall / fast:.1f}x faster)")

        objects = [m for r in results.values() for m in r.manifests]
        objects += [Manifest(name, app, f"gitops/argocd/customer-{name}.yaml")
                    for name, app in apps.items()]
        assert not any(r.findings for r in results.values()), "the generated fleet must build"
        schema_rates(store, objects, runs, kubeconform)
    return 0


def schema_rates(store: SchemaStore, objects: list[Manifest], runs: int,
                 kubeconform: bool) -> None:
    count = len(objects)
    for m in objects:  # read every schema file before any clock starts
        store.schema_for(m.api_version, m.kind)
    # Warm = every kind's validator already built, as in a long run over many objects.
    baseline = python_jsonschema(store)
    baseline(objects)
    warm = EmbeddedValidator(store)
    warm.validate(objects)
    rows: dict[str, Callable[[], object]] = {
        "python-jsonschema, warm (baseline)": lambda: baseline(objects),
        "embedded, cold (incl. compiling)": lambda: EmbeddedValidator(store).validate(objects),
        "embedded, warm": lambda: warm.validate(objects),
    }
    with tempfile.TemporaryDirectory() as cache:
        if kubeconform:
            backend = KubeconformValidator(store, cache_dir=Path(cache))
            rows["kubeconform (whole process)"] = lambda: backend.validate(objects)
        print(f"schema validation of {count} objects:")
        first = 0.0
        for label, run in rows.items():
            rate = count / timed(run, runs)
            first = first or rate
            row(f"  {label}", f"{rate:8,.0f} objects/s {rate / first:6.1f}x baseline")


if __name__ == "__main__":
    raise SystemExit(main())
