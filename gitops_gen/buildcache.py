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

An entry is a file of two lines: a header `{"format", "key", "sha256"}` and the payload,
whose sha256 the header holds. A read that finds another key or format, a checksum that
does not match, or a payload of the wrong shape treats the entry as absent (and the
build that follows overwrites it): the cache is never trusted further than a cold build
would be. Entries are written atomically (a temporary file renamed into place), so
concurrent runs never see half an entry; each customer's directory keeps its newest
`KEEP_PER_CUSTOMER` entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitops_gen.model import BuildResult, Finding, Manifest

# Bump whenever what a build produces for the same inputs changes (build.py, goyaml.py,
# the kustomize batch, the in-process helm), or how an entry is stored.
FORMAT = 1
KEEP_PER_CUSTOMER = 8
_SAFE_DIR = re.compile(r"[a-z0-9][-a-z0-9]{0,62}")


def build_key(customer: str, file: str, inputs: str, versions: Mapping[str, str],
              kube_version: str) -> str:
    """The key of one Application's build; `inputs` is its `appinputs` digest."""
    parts = [FORMAT, customer, file, dict(sorted(versions.items())), kube_version, inputs]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


class BuildCache:
    """The builds under one directory (by default `toolchain.cache_root() / "builds"`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get(self, customer: str, key: str) -> BuildResult | None:
        """The build stored under `key`, or None if there is none that checks out."""
        try:
            header_line, _, payload = self._path(customer, key).read_bytes().partition(b"\n")
            header = json.loads(header_line)
        except (OSError, ValueError):
            return None
        if not isinstance(header, dict) or header != {
            "format": FORMAT, "key": key, "sha256": hashlib.sha256(payload).hexdigest(),
        }:
            return None
        try:
            return _result(customer, json.loads(payload))
        except (ValueError, TypeError, KeyError):
            return None

    def put(self, customer: str, key: str, result: BuildResult) -> None:
        """Store `result` under `key`. A cache that cannot be written is no cache: the
        error is swallowed, and the next run builds again."""
        payload = json.dumps(_payload(result), separators=(",", ":")).encode()
        header = {"format": FORMAT, "key": key, "sha256": hashlib.sha256(payload).hexdigest()}
        path = self._path(customer, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(json.dumps(header).encode() + b"\n" + payload)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _keep_newest(path.parent, KEEP_PER_CUSTOMER)
        except OSError:
            return

    def _path(self, customer: str, key: str) -> Path:
        # One directory per customer bounds the cache: a fleet-wide bump adds one entry
        # per customer, and old ones go (see _keep_newest).
        name = customer if _SAFE_DIR.fullmatch(customer) else (
            "_" + hashlib.sha256(customer.encode()).hexdigest()[:32])
        return self.directory / name / f"{key}.json"


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


def _keep_newest(directory: Path, keep: int) -> None:
    entries = [e for e in os.scandir(directory) if e.name.endswith(".json")]
    if len(entries) <= keep:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
    for stale in entries[keep:]:
        Path(stale.path).unlink(missing_ok=True)
