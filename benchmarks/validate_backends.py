"""Objects per second for each schema validation backend, against a python-jsonschema baseline.

    .venv/bin/python benchmarks/validate_backends.py [--count 10000] [--invalid 0.01]

Generates `--count` Deployments and Services (half each; a fraction `--invalid` of them
broken), then times, in the same run and on the same objects:

- baseline: python-jsonschema + referencing, one compiled validator per kind, all errors;
- embedded: `EmbeddedValidator.validate` cold (a new validator, so compiling is counted)
  and warm (validators already compiled);
- kubeconform: `KubeconformValidator.validate`, when `kubeconform` is on PATH (the whole
  process: schema files, one temporary file per object, the run, parsing).

A script, not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import referencing

from gitops_gen.k8s_schemas import DEFINITIONS_ID, SchemaStore
from gitops_gen.model import Manifest
from gitops_gen.validators.embedded import EmbeddedValidator
from gitops_gen.validators.kubeconform import KubeconformValidator

REPO_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def deployment(i: int, broken: bool) -> dict[str, Any]:
    name = f"app-{i}"
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": f"customer-{i % 500}",
                     "labels": {"app.kubernetes.io/name": name}},
        "spec": {
            "replicas": "two" if broken else 1 + i % 3,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{
                    "name": "app", "image": f"registry.example.com/app:1.{i % 50}.0",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                  "limits": {"cpu": "1", "memory": "256Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
                    "env": [{"name": "CUSTOMER", "value": str(i % 500)}],
                }]},
            },
        },
    }


def service(i: int, broken: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"app": f"app-{i}"},
                            "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    if broken:
        spec["typo"] = True
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"app-{i}", "namespace": f"customer-{i % 500}"},
            "spec": spec}


def generate(count: int, invalid: float) -> list[Manifest]:
    every = round(1 / invalid) if invalid > 0 else 0
    out = []
    for i in range(count):
        make = deployment if i % 2 == 0 else service
        broken = bool(every) and i % every == 0
        out.append(Manifest(f"customer-{i % 500}", make(i, broken), "bench.yaml"))
    return out


def python_jsonschema(store: SchemaStore) -> Callable[[Sequence[Manifest]], int]:
    """The baseline: what a plain Python implementation does, compiled once per kind."""
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(
        DEFINITIONS_ID, referencing.Resource.from_contents(store.definitions))
    validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}

    def run(manifests: Sequence[Manifest]) -> int:
        errors = 0
        for m in manifests:
            key = (m.api_version, m.kind)
            if key not in validators:
                schema = store.schema_for(*key)
                assert schema is not None, key
                validators[key] = jsonschema.Draft202012Validator(schema, registry=registry)
            errors += sum(1 for _ in validators[key].iter_errors(m.obj))
        return errors

    return run


def timed(label: str, run: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    rate = count / seconds
    found = len(result) if isinstance(result, list) else result
    print(f"{label:<34} {seconds:8.3f} s {rate:12,.0f} objects/s   ({found} problems)")
    return rate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--invalid", type=float, default=0.01)
    args = parser.parse_args(argv)
    store = SchemaStore(None, [REPO_SCHEMAS])
    manifests = generate(args.count, args.invalid)
    n = len(manifests)
    print(f"{n} objects (Deployments and Services), Kubernetes {store.version}, "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    # Read the schema files before any clock starts: every backend shares them.
    store.schema_for("apps/v1", "Deployment")
    store.schema_for("v1", "Service")
    assert store.definitions
    baseline = timed("python-jsonschema (baseline)",
                     lambda: python_jsonschema(store)(manifests), n)
    cold = timed("embedded, cold (incl. compiling)",
                 lambda: EmbeddedValidator(store).validate(manifests), n)
    warm_validator = EmbeddedValidator(store)
    warm_validator.validate(manifests[:2])
    warm = timed("embedded, warm", lambda: warm_validator.validate(manifests), n)
    print(f"embedded vs baseline: {cold / baseline:,.0f}x cold, {warm / baseline:,.0f}x warm")
    if shutil.which("kubeconform"):
        with tempfile.TemporaryDirectory() as cache:
            backend = KubeconformValidator(store, cache_dir=Path(cache))
            rate = timed("kubeconform (whole process)", lambda: backend.validate(manifests), n)
        print(f"kubeconform vs baseline: {rate / baseline:,.1f}x")
    else:
        print("kubeconform: not on PATH, skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
