"""Builds kept outside the tree, addressed by everything they read.

An Application whose inputs are unchanged since a build already done needs no helm or
kustomize again: its objects and build findings are read back from
`<cache_root>/builds/`. Schema validation and policy still run on them every time; only
the tool runs are skipped.

The key of an Application is a sha256 over `FORMAT`, the customer, the file holding the
Application, the helm/kustomize versions (and the in-process helm's, which may render
it), the Kubernetes version and `appinputs`' digest of the Application and every file
its build reads. An Application whose inputs cannot be told for sure has no key and is
always built.

Entries are kept in a `cachestore.SegmentStore` (key and checksum checked on every read):
a run appends the builds it stores to one segment file and publishes them with one index
update when it ends (`flush`), whatever the number of customers; each customer keeps its
newest `KEEP_PER_CUSTOMER`. A payload of the wrong shape is treated as absent too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitops_gen.cachestore import SegmentStore
from gitops_gen.model import BuildResult, Finding, Manifest

# Bump whenever what a build produces for the same inputs changes (build.py, goyaml.py,
# the kustomize batch, the in-process helm), or how an entry is stored.
FORMAT = 4  # 3: mapping keys as Kubernetes reads them (goyaml.json_key); 4: marshal
KEEP_PER_CUSTOMER = 8


def build_key(customer: str, file: str, inputs: str, versions: Mapping[str, str],
              kube_version: str) -> str:
    """The key of one Application's build; `inputs` is its `appinputs` digest."""
    parts = [FORMAT, customer, file, dict(sorted(versions.items())), kube_version, inputs]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


class BuildCache:
    """The builds under one directory (by default `toolchain.cache_root() / "builds"`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._store = SegmentStore(directory, FORMAT, KEEP_PER_CUSTOMER)

    def get(self, customer: str, key: str) -> BuildResult | None:
        """The build stored under `key`, or None if there is none that checks out."""
        payload = self._store.get(customer, key)
        if payload is None:
            return None
        try:
            return _result(customer, payload)
        except (ValueError, TypeError, KeyError):
            return None

    def put(self, customer: str, key: str, result: BuildResult) -> None:
        """Store `result` under `key` (never failing: see `SegmentStore.put`); other
        runs see it after `flush`."""
        self._store.put(customer, key, _payload(result))

    def flush(self) -> None:
        """Publish the builds stored by this run: once, where the run ends (never
        failing: builds that cannot be stored are built again next time)."""
        self._store.flush()


def _payload(result: BuildResult) -> dict[str, Any]:
    return {
        "manifests": [[m.source, m.obj] for m in result.manifests],
        "findings": [[f.file, f.line, f.rule, f.message] for f in result.findings],
    }


def _result(customer: str, payload: Any) -> BuildResult:
    """The payload back as a result; a wrong shape raises ValueError/TypeError/KeyError."""
    result = BuildResult(customer)
    for source, obj in payload["manifests"]:
        if not isinstance(source, str) or not isinstance(obj, dict):
            raise ValueError("not a manifest")
        result.manifests.append(Manifest(customer, obj, source))
    for file, line, rule, message in payload["findings"]:
        if not (isinstance(file, str) and isinstance(rule, str) and isinstance(message, str)
                and (line is None or type(line) is int)):
            raise ValueError("not a finding")
        result.findings.append(Finding(file, line, customer, rule, message))
    return result
