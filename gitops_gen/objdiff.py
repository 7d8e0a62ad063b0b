"""Compare the objects of one customer app on two sides: added, removed, changed.

Objects are matched by (kind, namespace, name) and each is dumped with its keys sorted
(recursively) by the canonical emitter, so a diff shows what changed in the object and
never how a tool happened to order or quote it.

Noise (on by default; `ignore_noise=False` shows everything) is what changes on every
chart release or regenerated input without changing what runs:

- the labels `helm.sh/chart` and `app.kubernetes.io/version` and the annotations
  `checksum/*`, in any object's or pod template's `metadata`;
- the hash suffix kustomize's generators add to ConfigMap and Secret names
  (`app-config-7b5c9k2m4h` → `app-config`), there and wherever the object refers to that
  name, so a regenerated ConfigMap is one changed object, not one removed and one added.

An object whose only differences are noise is not reported as changed; it is counted.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops_gen.model import Finding, Manifest
from gitops_gen.yamlemit import dump

ADDED, REMOVED, CHANGED = "added", "removed", "changed"

NOISE_LABELS = frozenset({"helm.sh/chart", "app.kubernetes.io/version"})
NOISE_ANNOTATION_PREFIXES = ("checksum/",)
# kustomize's hasher: the first 10 hex digits of a sha256 with 0,1,3,a,e replaced by
# g,h,k,m,t (api/hasher/hasher.go `encode`), so a suffix never spells a word.
_GENERATED_NAME = re.compile(r"(?P<base>.+)-[2456789bcdfghkmt]{10}")
_GENERATED_KINDS = frozenset({"ConfigMap", "Secret"})

ObjectKey = tuple[str, str, str]  # kind, namespace, name


@dataclass(frozen=True)
class ObjectChange:
    """One object that differs; `diff` is a unified diff (all `+` lines when added)."""

    customer: str  # "" for platform-wide Argo CD objects
    kind: str
    namespace: str  # "" when cluster-scoped
    name: str
    change: str  # ADDED, REMOVED or CHANGED
    diff: str

    def ident(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else (
            f"{self.kind} {self.name}"
        )


@dataclass(frozen=True)
class CustomerDiff:
    customer: str
    changes: list[ObjectChange]
    noise_only: int = 0  # objects whose only differences were ignored as noise

    def count(self, change: str) -> int:
        return sum(1 for c in self.changes if c.change == change)


@dataclass
class DiffReport:
    """What `diff` found between a revision and the working tree."""

    base: str  # the revision as the user named it
    base_sha: str
    customers: list[CustomerDiff] = field(default_factory=list)  # only those that differ
    rebuilt: list[str] = field(default_factory=list)  # inputs differ: built on both sides
    unchanged: list[str] = field(default_factory=list)  # same inputs: not rebuilt
    failures: list[Finding] = field(default_factory=list)  # builds that did not succeed

    @property
    def changes(self) -> list[ObjectChange]:
        return [c for customer in self.customers for c in customer.changes]

    @property
    def noise_only(self) -> int:
        return sum(c.noise_only for c in self.customers)


def diff_objects(
    customer: str, old: Sequence[Manifest], new: Sequence[Manifest], *, ignore_noise: bool = True
) -> CustomerDiff:
    """The objects added, removed and changed from `old` to `new`, in (kind, namespace,
    name) order."""
    before, after = _keyed(old, ignore_noise), _keyed(new, ignore_noise)
    changes: list[ObjectChange] = []
    noise_only = 0
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was is not None and now is not None and was.text == now.text:
            if was.raw != now.raw:
                noise_only += 1
            continue
        change = ADDED if was is None else REMOVED if now is None else CHANGED
        diff = unified_diff(key, was.text if was else None, now.text if now else None)
        changes.append(ObjectChange(customer, *key, change, diff))
    return CustomerDiff(customer, changes, noise_only)


def unified_diff(key: ObjectKey, old: str | None, new: str | None) -> str:
    """git-style diff of one object's canonical YAML; /dev/null for a missing side."""
    label = "/".join(part for part in key if part)
    lines = difflib.unified_diff(
        old.splitlines() if old is not None else [],
        new.splitlines() if new is not None else [],
        f"a/{label}" if old is not None else "/dev/null",
        f"b/{label}" if new is not None else "/dev/null",
        lineterm="",
    )
    return "\n".join(lines) + "\n"


def canonical(obj: Any) -> str:
    """An object as YAML with every mapping's keys sorted: equal objects, equal text."""
    return dump(_sorted(obj))


@dataclass(frozen=True)
class _Dumped:
    text: str  # canonical text of what is compared (noise removed when ignored)
    raw: str  # canonical text of the object as built


def _keyed(manifests: Sequence[Manifest], ignore_noise: bool) -> dict[ObjectKey, _Dumped]:
    renames = _generated_names(manifests) if ignore_noise else {}
    out: dict[ObjectKey, _Dumped] = {}
    for manifest in manifests:
        name = manifest.name
        if manifest.kind in _GENERATED_KINDS:
            name = renames.get(name, name)
        key = unique = (manifest.kind, manifest.namespace, name)
        # Argo CD refuses two objects of one key; diff both rather than hide one.
        n = 2
        while unique in out:
            unique, n = (*key[:2], f"{name}#{n}"), n + 1
        obj = _without_noise(manifest.obj, renames) if ignore_noise else manifest.obj
        out[unique] = _Dumped(canonical(obj), canonical(manifest.obj))
    return out


def _generated_names(manifests: Iterable[Manifest]) -> dict[str, str]:
    """Hash-suffixed ConfigMap/Secret names -> the names without the suffix."""
    names = {}
    for manifest in manifests:
        match = _GENERATED_NAME.fullmatch(manifest.name)
        if manifest.kind in _GENERATED_KINDS and match:
            names[manifest.name] = match.group("base")
    return names


def _without_noise(value: Any, renames: dict[str, str], key: str = "") -> Any:
    """A copy of `value` without noise; `key` is the mapping key `value` sits under."""
    if isinstance(value, dict):
        if key == "metadata":
            return _clean_metadata(value, renames)
        return {k: _without_noise(v, renames, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_noise(v, renames) for v in value]
    if isinstance(value, str):
        return renames.get(value, value)
    return value


def _clean_metadata(meta: dict[Any, Any], renames: dict[str, str]) -> dict[Any, Any]:
    out = {}
    for k, v in meta.items():
        if k == "labels" and isinstance(v, dict):
            v = {name: val for name, val in v.items() if name not in NOISE_LABELS}
        elif k == "annotations" and isinstance(v, dict):
            v = {name: val for name, val in v.items()
                 if not str(name).startswith(NOISE_ANNOTATION_PREFIXES)}
        if v == {} and meta[k] != {}:
            continue  # emptied by the filter: as if there had been nothing
        out[k] = _without_noise(v, renames, str(k))
    return out


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value
