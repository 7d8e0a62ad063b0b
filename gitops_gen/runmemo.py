"""The last run's results, kept under the stats of the tree it ran on (treestat.py).

`validate` and `compile` of an unchanged tree give what they gave last time: this module
keeps that, per platform checkout, in `<cache_root>/runs/`, so that a no-op run states
the tree's files and reads nothing else. Each record is kept under a key of everything
outside the tree that could change a result: the gitops-gen code (its version and the
stats of its own files), the versions of the libraries that judge objects, the tools
found (path and stats), `PATH` and the `GITOPS_GEN_*` environment, the run's options
and, for `validate`, the spec names at the commit `--base` names (all that the
mass-removal check reads of it). A record that does not check out
(another key, format or checksum) is absent, and the run does the full work and
replaces it.

Only complete runs are recorded: a run that raises records nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gitops_gen
from gitops_gen.cachestore import encode, read_entry_bytes, write_entry_bytes
from gitops_gen.errors import InputError
from gitops_gen.platform import SPEC_DIR, Platform
from gitops_gen.toolchain import cache_root, find_toolchain

FORMAT = 2  # 2: a record's body is its summary, and after a newline its details
KEEP_RECORDS = 40  # the newest records kept: 20 checkouts (a validate and a compile record each)
# The libraries whose versions change what a run finds (schemas, parsing, rendering).
_JUDGES = ("kubernetes-validate", "jsonschema-rs", "jsonschema", "helm-python-sdk", "jinja2",
           "ruamel.yaml", "pyyaml")


class RunMemo:
    """The record of one kind of run (`validate`, `compile`) for one platform checkout:
    a summary, which a no-op run reads, and details, which only a run that validates
    some customers again needs (at 10,000 customers, 2.6 of validate's 3.6 MB). Both are
    one file, written at once; the details are parsed only if asked for."""

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key
        self._details: bytes = b""  # of the record last loaded, as stored

    def load(self) -> dict[str, Any] | None:
        """The summary of the record, if there is one that checks out."""
        body = read_entry_bytes(self.path, FORMAT, self.key)
        summary, _, self._details = (body or b"").partition(b"\n")  # JSON has no raw \n
        try:
            record = json.loads(summary) if body is not None else None
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    def details(self) -> dict[str, Any] | None:
        """The details of the record `load` read."""
        try:
            details = json.loads(self._details) if self._details else None
        except ValueError:
            return None
        return details if isinstance(details, dict) else None

    def save(self, summary: dict[str, Any], details: dict[str, Any] | None = None) -> None:
        self._write(summary, None if details is None else encode(details).encode())

    def save_summary(self, summary: dict[str, Any]) -> None:
        """Replace the summary of the record `load` read, its details as they were."""
        self._write(summary, self._details or None)

    def _write(self, summary: dict[str, Any], details: bytes | None) -> None:
        body = encode(summary).encode() + (b"" if details is None else b"\n" + details)
        write_entry_bytes(self.path, FORMAT, self.key, body, KEEP_RECORDS)


def run_memo(platform: Platform, kind: str, options: Mapping[str, object]) -> RunMemo | None:
    """The memo for `kind` runs with `options` on `platform`; None when what is outside the
    tree cannot be pinned down (then there is no memo: the run does the full work)."""
    try:
        context = {
            "gitops-gen": gitops_gen.__version__,
            "code": _code_stats(),
            "libraries": {name: _version(name) for name in _JUDGES},
            "tools": _tool_stats(platform),
            "env": {k: v for k, v in sorted(os.environ.items())
                    if k == "PATH" or k.startswith("GITOPS_GEN_")},
            "options": dict(options),
        }
        key = hashlib.sha256(json.dumps(context, sort_keys=True).encode()).hexdigest()
    except (OSError, TypeError, ValueError):
        return None
    checkout = hashlib.sha256(os.fsencode(platform.root.resolve())).hexdigest()[:32]
    return RunMemo(cache_root() / "runs" / f"{checkout}-{kind}.json", key)


def base_customers(platform: Platform, base: str) -> str:
    """What of `--base` a validate result depends on (the mass-removal check compares
    the specs there with the tree's): the spec names at that commit, as git lists them,
    or git's failure to. Not the commit itself: a commit that leaves customers/ alone
    (every commit the pre-commit hook runs before) must not cost the memo."""
    if base.startswith("-"):
        return f"not a revision: {base}"
    commit = _git(platform, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    if commit.returncode != 0:
        return f"{commit.returncode}\0{commit.stderr.strip()}"
    listing = _git(platform, "ls-tree", "--name-only", commit.stdout.strip(), "--",
                   f"{SPEC_DIR}/")
    return hashlib.sha256(f"{listing.returncode}\0{listing.stdout}".encode()).hexdigest()


def _git(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=platform.root, capture_output=True, text=True,
                          check=False)


def _code_stats() -> list[str]:
    package = Path(gitops_gen.__file__).parent
    return sorted(f"{p.relative_to(package)}:{s.st_size}:{s.st_mtime_ns}"
                  for p in package.rglob("*") if p.suffix in (".py", ".json", ".j2")
                  for s in (p.stat(),))


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _tool_stats(platform: Platform) -> list[str]:
    found: list[str | None]
    try:
        toolchain = find_toolchain(platform.tools)
        found = [str(toolchain.helm), *toolchain.kustomize_cmd[:1]]
    except InputError:
        found = [None]  # no tools: a run that needs them fails, and records nothing
    found.append(shutil.which("kubeconform"))
    stats = []
    for tool in found:
        if tool is None:
            stats.append("-")
            continue
        info = os.stat(tool)
        stats.append(f"{Path(tool).resolve()}:{info.st_size}:{info.st_mtime_ns}")
    return stats
