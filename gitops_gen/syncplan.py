"""What Argo CD will do when it syncs a customer: read off the objects the customer's
Applications build to, so that what `add` and `remove` tell a person cannot drift from
what the chart and the overlay really do.

Argo CD orders a sync by phase (PreSync, Sync, PostSync), then by sync wave, then by
kind and name, and starts a wave only once everything of the waves before it is
healthy (an ExternalSecret once its Secret is written, a hook Job once it completed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gitops_gen.argocd import applications, argocd_objects, helm_kube_version
from gitops_gen.build import build_all
from gitops_gen.errors import InputError
from gitops_gen.k8s_schemas import resolve_version
from gitops_gen.model import Manifest
from gitops_gen.platform import Platform
from gitops_gen.policy.objects import dig, items, mapping
from gitops_gen.render import Renderer
from gitops_gen.spec import CustomerSpec
from gitops_gen.toolchain import find_toolchain

HOOK = "argocd.argoproj.io/hook"
WAVE = "argocd.argoproj.io/sync-wave"
COMPONENT = "app.kubernetes.io/component"
DATABASE = "gitops-gen.io/database"
DATABASE_ROLE = "gitops-gen.io/database-role"
DATABASE_SERVER = "gitops-gen.io/database-server"
# The phases of a sync, in order; hooks of other phases (SyncFail, PreDelete, …) do not
# run in a successful sync.
PHASES = ("PreSync", "Sync", "PostSync")


@dataclass(frozen=True)
class Step:
    """The objects of one phase and wave: Argo CD applies them together."""

    phase: str
    wave: int
    objects: tuple[Manifest, ...]

    @property
    def title(self) -> str:
        """What the step is for: its objects' component labels (`secrets`, `database`…),
        `namespace` for the Namespace."""
        names = dict.fromkeys(_component(m) for m in self.objects)
        return ", ".join(names)


@dataclass(frozen=True)
class GeneratedSecret:
    """A Secret an ExternalSecret writes in the cluster."""

    name: str
    keys: tuple[str, ...]
    source: str  # "generated", or the store it is read from
    during_sync_only: bool  # a hook: deleted when the sync ends


def customer_objects(platform: Platform, spec: CustomerSpec) -> list[Manifest]:
    """Every object the customer's Applications build to, as the tree stands; empty if
    they cannot be built: the callers only describe, after validation has judged (and
    `add` has committed by then: describing must not fail it)."""
    files = [(f.path, spec.name) for f in Renderer(platform).render_customer(spec)]
    generated, _ = argocd_objects(platform.root, files)
    apps = applications(generated)
    try:
        kube = helm_kube_version(resolve_version(platform.kube_version))
        results = build_all(platform.root, apps, find_toolchain(platform.tools), kube, 1)
    except InputError:
        return []
    if any(result.findings for result in results.values()):
        return []
    return [m for result in results.values() for m in result.manifests]


def sync_steps(manifests: Sequence[Manifest]) -> list[Step]:
    """The customer's objects grouped in the order Argo CD syncs them."""
    groups: dict[tuple[int, int], list[Manifest]] = {}
    for manifest in manifests:
        phase = _phase(manifest)
        if phase in PHASES and not manifest.api_version.startswith("argoproj.io/"):
            key = (PHASES.index(phase), _wave(manifest))
            groups.setdefault(key, []).append(manifest)
    return [
        Step(PHASES[phase], wave, tuple(sorted(objects, key=lambda m: (m.kind, m.name))))
        for (phase, wave), objects in sorted(groups.items())
    ]


def is_hook(manifest: Manifest) -> bool:
    return HOOK in _annotations(manifest)


def generated_secrets(manifests: Sequence[Manifest]) -> list[GeneratedSecret]:
    """The Secrets external-secrets will write for the customer, by name."""
    found = [_secret(m) for m in manifests
             if m.kind == "ExternalSecret" and m.api_version.startswith("external-secrets.io/")]
    return sorted(found, key=lambda s: s.name)


def database_of(manifests: Sequence[Manifest]) -> dict[str, str]:
    """What the objects say of the customer's database: `name`, and where it is created
    (`role`, `server`, `job`) when a Job creates it."""
    out: dict[str, str] = {}
    for manifest in manifests:
        notes = _annotations(manifest)
        if DATABASE in notes:
            out.setdefault("name", str(notes[DATABASE]))
        if manifest.kind == "Job" and DATABASE_ROLE in notes:
            out.update(role=str(notes[DATABASE_ROLE]), server=str(notes.get(DATABASE_SERVER)),
                       job=manifest.name)
    return out


def _secret(manifest: Manifest) -> GeneratedSecret:
    spec = mapping(manifest.obj.get("spec"))
    target = mapping(spec.get("target"))
    keys = [str(mapping(d).get("secretKey")) for d in items(spec.get("data"))]
    keys += [str(k) for k in dig(target, ("template", "data"))]
    keys += list(_rewritten(items(spec.get("dataFrom"))))
    store = mapping(spec.get("secretStoreRef"))
    source = f"from {store.get('kind', 'SecretStore')} {store.get('name')}" if store else (
        "generated")
    return GeneratedSecret(str(target.get("name") or manifest.name),
                           tuple(dict.fromkeys(keys)), source, is_hook(manifest))


def _rewritten(data_from: list[Any]) -> Iterator[str]:
    """The keys generator entries end up under: a rewrite's target, else `password`."""
    for entry in data_from:
        rewrites = [dig(mapping(r), ("regexp",)).get("target") for r in
                    items(mapping(entry).get("rewrite"))]
        targets = [str(t) for t in rewrites if t]
        yield from targets or ["password"]


def _phase(manifest: Manifest) -> str:
    hooks = str(_annotations(manifest).get(HOOK) or "Sync")
    return next((h.strip() for h in hooks.split(",") if h.strip() in PHASES), hooks)


def _wave(manifest: Manifest) -> int:
    try:
        return int(str(_annotations(manifest).get(WAVE, "0")))
    except ValueError:
        return 0  # Argo CD, too, takes a wave it cannot read as 0


def _component(manifest: Manifest) -> str:
    labels = dig(manifest.obj, ("metadata", "labels"))
    return str(labels.get(COMPONENT) or manifest.kind.lower())


def _annotations(manifest: Manifest) -> dict[str, Any]:
    return dict(dig(manifest.obj, ("metadata", "annotations")))
