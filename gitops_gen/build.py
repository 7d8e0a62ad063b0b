"""Build each customer app exactly as Argo CD's repo-server would from its Application.

For every source of `gitops/argocd/customer-NAME.yaml` this runs the command Argo CD runs
(argo-cd `util/helm/cmd.go`, `util/kustomize/kustomize.go`,
`reposerver/repository/repository.go`):

    helm template . --name-template NAME --namespace NS --kube-version V
         [--set K=V ...] [--set-string K=V ...] [--set-file K=PATH ...]
         [--values FILE ...] [--values <valuesObject>] [--api-versions X ...]
         --include-crds [--skip-schema-validation] [--skip-tests]      (cwd: the chart)
    kustomize build /abs/path   or   kubectl kustomize /abs/path        (cwd: repo root)

What Argo CD adds that a build here cannot, so results may differ:
- `--api-versions` for every API group/version the live cluster serves (charts branching
  on `.Capabilities.APIVersions.Has` take their "absent" branch here);
- `helm dependency build` when a chart's dependencies are missing (vendor `charts/`);
- `ARGOCD_APP_*` environment substitution in value file paths and parameters;
- `kustomize edit` for the Application's `kustomize:` options, and the argocd-cm
  `kustomize.buildOptions` (e.g. `--enable-helm`) — both reported, not applied;
- its tracking label/annotation on every object (not part of what the repo defines).

Problems are `Finding`s with rule "build", never exceptions.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitops_gen.appinputs import KUSTOMIZATION_NAMES, InputDigests
from gitops_gen.buildcache import BuildCache, build_key
from gitops_gen.docshapes import SHAPES, documents, plain_copy
from gitops_gen.goyaml import GoYamlLoader as GoYamlLoader  # its first home was here
from gitops_gen.helm_inprocess import (
    InProcessHelm,
    Rendered,
    RenderRequest,
    SetParameter,
    installed_version,
    render_objects,
    rendered_chunk,
)
from gitops_gen.kustomize_batch import results_of, submit_overlays
from gitops_gen.model import BuildResult, Finding, Manifest
from gitops_gen.model import BuildStats as BuildStats  # its first home was here
from gitops_gen.overlaycache import OverlayCache
from gitops_gen.procs import ToolFailed, run
from gitops_gen.progress import Progress
from gitops_gen.resolver import Resolver, is_within, relative_posix
from gitops_gen.toolchain import Toolchain

RULE = "build"

# Objects of these kinds are not put into the destination namespace. Kinds not listed are
# treated as namespaced (as `kubectl apply -n` would), unless a CRD in the same build
# declares them `scope: Cluster`.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterSecretStore",
        "ClusterExternalSecret",
        "ClusterPolicy",
        "ClusterTrustBundle",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "FlowSchema",
        "IngressClass",
        "IPAddress",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceSlice",
        "RuntimeClass",
        "ServiceCIDR",
        "StorageClass",
        "StorageVersionMigration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
    }
)


def application_path(customer: str) -> str:
    """The repo-relative file of a customer's Argo CD Application."""
    return f"gitops/argocd/customer-{customer}.yaml"


@dataclass(frozen=True)
class BuildOptions:
    """How `build_all` may go faster than one helm and one kustomize process per app;
    each way has to give what those processes give (see the modules named)."""

    cache: BuildCache | None = None  # buildcache.py
    batch_kustomize: bool = True  # kustomize_batch.py
    in_process_helm: bool = True  # helm_inprocess.py
    progress: Progress | None = None  # (done, total), after each app
    # told each customer's whole result (its apps' merged, as `build_all` gives it) in
    # customer order, in this thread, as soon as its last app is built: what follows a
    # build can go on while the others build
    on_customer: Callable[[BuildResult], None] | None = None
    # builds from which the in-process helm is used at all: loading it takes ~0.1 s, and
    # the first render of each chart runs the binary as well, to compare
    in_process_helm_from: int = 3
    # builds (cache misses) from which the in-process helm renders in forked worker
    # processes: each loads the SDK (~0.1 s), and until then the keys of the first misses
    # are told on one core with no render under way (200 left ~0.1 s of a cold
    # 1,000-customer validate so; 64: ~0.06 s less, measured in turns)
    worker_processes_from: int = 64
    stats: BuildStats = field(default_factory=BuildStats)


def build_all(
    repo_root: Path,
    apps: Mapping[str, dict[str, Any] | Sequence[Manifest]],
    toolchain: Toolchain,
    kube_version: str,
    jobs: int,
    options: BuildOptions | None = None,
) -> dict[str, BuildResult]:
    """Build every customer's Applications, `jobs` at a time; one result per customer,
    keyed in sorted customer order.

    A customer's value is its Application object (in `application_path`), or the
    Application manifests read from its generated files: a customer may have several (one
    per cluster, say), each built on its own and the results merged in file order.
    """
    options = options or BuildOptions()
    jobs = max(1, jobs)
    builds = [(name, app) for name in sorted(apps) for app in _applications_of(name, apps[name])]
    merged = {name: BuildResult(name) for name in sorted(apps)}
    told = _Teller(builds, merged, options.on_customer)
    with ExitStack() as stack:
        workers = _fork_workers(jobs) if (
            options.in_process_helm and jobs >= 2
            and len(builds) >= options.worker_processes_from) else None
        if workers is not None:
            stack.callback(workers.shutdown, cancel_futures=True)
        results = _build_all(repo_root, builds, toolchain, kube_version, jobs, options, workers,
                             told)
    told.up_to(len(builds), results)
    return merged


class _Teller:
    """Merges the apps' results into their customers' and tells `on_customer` of each
    customer whose apps are all built (builds are in customer order)."""

    def __init__(self, builds: list[tuple[str, Manifest]], merged: dict[str, BuildResult],
                 on_customer: Callable[[BuildResult], None] | None) -> None:
        self._names = [name for name, _ in builds]
        self._merged, self._on_customer = merged, on_customer
        self._next = 0  # the first build not merged yet

    def up_to(self, end: int, results: Sequence[BuildResult | None]) -> None:
        """Builds before `end` are all done (`results`): merge them, and tell of every
        customer whose last build is among them."""
        while self._next < end:
            name, result = self._names[self._next], results[self._next]
            self._merged[name].manifests.extend(result.manifests if result else [])
            self._merged[name].findings.extend(result.findings if result else [])
            self._next += 1
            last = self._next == len(self._names) or self._names[self._next] != name
            if last and self._on_customer is not None:
                self._on_customer(self._merged[name])


def _build_all(repo_root: Path, builds: list[tuple[str, Manifest]], toolchain: Toolchain,
               kube_version: str, jobs: int, options: BuildOptions,
               workers: ProcessPoolExecutor | None, told: _Teller) -> list[BuildResult | None]:
    try:
        return _build_each(repo_root, builds, toolchain, kube_version, jobs, options, workers,
                           told)
    finally:
        if options.cache:
            # Also when a build raised: each entry stored is a whole build under its own
            # key (a put cut short drops the run's segment), so publishing them is safe.
            options.cache.flush()


def _build_each(repo_root: Path, builds: list[tuple[str, Manifest]], toolchain: Toolchain,
                kube_version: str, jobs: int, options: BuildOptions,
                workers: ProcessPoolExecutor | None, told: _Teller) -> list[BuildResult | None]:
    digests = InputDigests(repo_root, kube_version)
    sdk = installed_version() if options.in_process_helm else None
    keys = _CacheKeys(digests, toolchain, kube_version, sdk) if options.cache else None
    results: list[BuildResult | None] = []
    todo: list[int] = []  # the builds the cache did not have
    unplanned: list[int] = []  # of those, the ones not given to `_plan` yet
    build_keys: list[str | None] = []
    prerendered: _Prerendered | None = None
    paths = Resolver()  # one for the run: each directory resolved once
    overlays: set[Path] = set()
    # The cache is looked up build by build, and once enough builds missed to be worth
    # the worker processes, each further miss is planned (its render sent to them) at
    # once: the workers render while the keys of the rest are told.
    for i, (name, app) in enumerate(builds):
        key = keys.key(name, app) if keys else None
        build_keys.append(key)
        results.append(options.cache.get(name, key) if options.cache and key else None)
        if results[-1] is not None:
            continue
        todo.append(i)
        unplanned.append(i)
        if (prerendered is None and workers is not None and sdk is not None
                and len(todo) >= options.worker_processes_from):
            prerendered = _Prerendered(workers, len(builds) - i + len(todo), jobs)
        if prerendered is not None:
            overlays |= _plan(repo_root, [builds[j] for j in unplanned], toolchain,
                              kube_version, prerendered, paths)
            unplanned.clear()
    options.stats.applications, options.stats.cached = len(builds), len(builds) - len(todo)
    helm = InProcessHelm.load() if (
        sdk is not None and len(todo) >= options.in_process_helm_from) else None
    if workers is not None and prerendered is None:
        workers.shutdown(wait=False, cancel_futures=True)  # mostly cached: not worth it
    if unplanned and options.batch_kustomize:
        overlays |= _plan(repo_root, [builds[i] for i in unplanned], toolchain, kube_version,
                          None, paths)
    if prerendered is not None:
        prerendered.flush()
        options.stats.worker_processes = jobs
    overlay_cache = OverlayCache(options.cache, digests, toolchain.versions) if (
        options.cache and overlays) else None
    kept = {overlay: objects for overlay in sorted(overlays) if overlay_cache
            and (objects := overlay_cache.get(overlay)) is not None}
    batchable = _batchable_overlays(overlays - kept.keys(), digests) if (
        options.batch_kustomize) else []
    # Threads wait on helm/kustomize subprocesses, on the in-process helm (which renders
    # outside the GIL, but parsing its output holds it) and on the worker processes that
    # render and parse for a large build. The kustomize batches run beside the helm renders,
    # in customer order: a customer's build waits for its own overlay's batch only.
    with ThreadPoolExecutor(max_workers=jobs) as side, ThreadPoolExecutor(max_workers=jobs) as pool:
        batches = submit_overlays(batchable, toolchain.kustomize_cmd, jobs, side)
        engines = _Engines(_Batch(batches, kept), helm, prerendered, paths)
        built = pool.map(lambda i: build_customer(repo_root, builds[i][0], builds[i][1].obj,
                                                  toolchain, kube_version, builds[i][1].source,
                                                  engines), todo)
        for done, (i, fresh) in enumerate(zip(todo, built, strict=True), 1):
            results[i] = fresh
            key = build_keys[i]
            if options.cache and key:
                options.cache.put(builds[i][0], key, fresh)
            if options.progress:
                options.progress(done, len(todo))
            told.up_to(i + 1, results)  # builds are taken in order: all before i are done
        batched = results_of(batches)
    if overlay_cache is not None:
        for overlay, objects in batched.items():  # untouched: builds took deep copies
            overlay_cache.put(overlay, objects)
    options.stats.batched_overlays, options.stats.cached_overlays = len(batched), len(kept)
    options.stats.built = len(todo)
    options.stats.in_process_helm = helm.used if helm else 0
    options.stats.values_checked_here = (helm.schema_checked if helm else 0) + (
        prerendered.schema_checked if prerendered else 0)
    return results


def _fork_workers(jobs: int) -> ProcessPoolExecutor | None:
    """Worker processes for the in-process helm, forked now: before this process loads
    the SDK (a fork of a process running the Go runtime is not usable) and while it runs
    no other thread (a lock held by another thread would stay held in the fork). Forked,
    they start in milliseconds with every module imported; spawned ones (tried first)
    took ~0.3 s each and lost to threads."""
    if "helm_python" in sys.modules or not sys.platform.startswith("linux"):
        return None
    try:
        if len(os.listdir("/proc/self/task")) > 1:  # threads of any kind, not only Python's
            return None
    except OSError:
        return None
    workers = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))
    # The objects the workers inherit stay frozen in them: their garbage collector does
    # not walk the whole inherited heap (nor copy its pages by touching them).
    gc.freeze()
    try:
        workers.submit(os.getpid)  # with the fork context, the first task forks all workers
    finally:
        gc.unfreeze()
    return workers


# a chunk of renders, as a worker process sends it back (`render_objects`)
_Sent = Future[bytes | list[Rendered | None]]


class _Prerendered:
    """The in-process helm's renders of a build, done ahead by worker processes (in
    chunks, which the workers take in order, as the build's threads do)."""

    def __init__(self, workers: ProcessPoolExecutor, builds: int, jobs: int) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._index: dict[RenderRequest, list[tuple[_Sent, int]]] = {}
        # chunks read back, until each of their renders is taken: (renders, how many left)
        self._read: dict[_Sent, tuple[list[Rendered | None], int]] = {}
        self._chunk: list[RenderRequest] = []
        # small chunks: the first results come early and the last ones spread over all
        # workers; up to 32 renders (~0.1 s) amortize a task's round trip
        self._size = max(1, min(32, -(-builds // (jobs * 8))))
        self.schema_checked = 0

    def add(self, request: RenderRequest) -> None:
        """Render `request` ahead (chunks go to the workers as they fill)."""
        self._chunk.append(request)
        if len(self._chunk) >= self._size:
            self.flush()

    def flush(self) -> None:
        chunk, self._chunk = self._chunk, []
        if chunk:
            future = self._workers.submit(render_objects, chunk)
            for position, request in enumerate(chunk):
                self._index.setdefault(request, []).append((future, position))

    def take(self, request: RenderRequest) -> tuple[bool, Rendered | None]:
        """(whether a worker rendered `request`, and its render: None where the binary
        must run); one that was not rendered, or whose worker failed, renders here."""
        with self._lock:
            entries = self._index.get(request)
            if not entries:
                return False, None
            future, position = entries.pop(0)  # each render once: objects get changed
        try:
            render = self._render_of(future, position)
        except Exception:  # a worker that died or failed: not a finding, render here
            return False, None
        if render is not None and render[1]:
            with self._lock:
                self.schema_checked += 1
        return True, render

    def _render_of(self, future: _Sent, position: int) -> Rendered | None:
        """The render at `position` of a chunk, the chunk read back by its first taker."""
        sent = future.result()
        with self._lock:
            read = self._read.get(future)
            if read is None:
                renders = rendered_chunk(sent)
                read = renders, len(renders)
            renders, left = read
            if left > 1:
                self._read[future] = renders, left - 1
            else:
                self._read.pop(future, None)  # each render is taken once: the chunk goes
        return renders[position]



class _CacheKeys:
    """The build cache keys of one run's Applications (`buildcache.build_key`)."""

    def __init__(self, digests: InputDigests, toolchain: Toolchain, kube_version: str,
                 sdk_version: str | None) -> None:
        self._digests, self._kube_version = digests, kube_version
        self._versions = dict(toolchain.versions)
        if sdk_version is not None:
            self._versions["helm-in-process"] = sdk_version

    def key(self, name: str, app: Manifest) -> str | None:
        """None: the build's inputs cannot be told for sure, build it and keep nothing."""
        inputs = self._digests.digest([app])
        return None if inputs is None else build_key(
            name, app.source, inputs, self._versions, self._kube_version)


@dataclass(frozen=True)
class _Batch:
    """The kustomize batches of a run, still being built while helm charts render."""

    built: Mapping[Path, Future[dict[Path, list[dict[str, Any]]]]] = field(
        default_factory=dict)  # each overlay's batch
    kept: Mapping[Path, list[dict[str, Any]]] = field(default_factory=dict)  # from the cache

    def get(self, overlay: Path) -> list[dict[str, Any]] | None:
        """The overlay's objects, if the cache kept them or its batch built them (once
        that batch is done); None: build it alone."""
        if overlay in self.kept:
            return self.kept[overlay]
        batch = self.built.get(overlay)
        return None if batch is None else batch.result().get(overlay)


@dataclass(frozen=True)
class _Engines:
    """Faster ways to the same output, prepared for one `build_all` run."""

    overlays: _Batch = field(default_factory=_Batch)
    helm: InProcessHelm | None = None
    prerendered: _Prerendered | None = None
    paths: Resolver = field(default_factory=Resolver)
    # what a source directory holds, looked at once a run (a build's plan and its builds
    # looked at the chart's directory ~10 times a customer); like `paths`, true while the
    # tree does not change under the run
    sources: dict[Path, _SourceDir] = field(default_factory=dict)


@dataclass(frozen=True)
class _SourceDir:
    """A source path as discovery sees it."""

    is_dir: bool
    kustomization: Path | None  # its kustomization file, if it has one
    chart: bool  # it holds a Chart.yaml file


def _source_dir(app: _App, app_dir: Path) -> _SourceDir:
    known = app.engines.sources.get(app_dir)
    if known is None:
        is_dir = app_dir.is_dir()
        known = app.engines.sources[app_dir] = _SourceDir(
            is_dir, _kustomization_file(app_dir) if is_dir else None,
            is_dir and (app_dir / "Chart.yaml").is_file())
    return known


def _plan(repo_root: Path, builds: list[tuple[str, Manifest]], toolchain: Toolchain,
          kube_version: str, prerendered: _Prerendered | None, paths: Resolver) -> set[Path]:
    """The kustomize overlays of `builds`; what the in-process helm would render for them
    goes to `prerendered` meanwhile, in build order."""
    overlays: set[Path] = set()
    engines = _Engines(paths=paths)
    for customer, manifest in builds:
        try:
            app = _read_application(repo_root, customer, manifest.obj, toolchain, kube_version,
                                    manifest.source, engines)
            for source in app.sources:
                resolved = _resolve_source(app, source)
                if resolved is not None and resolved[0] == "kustomize":
                    overlays.add(resolved[1])
                elif prerendered and resolved is not None and (request := _render_request(
                        app, _mapping(source.get("helm")), resolved[1])) is not None:
                    prerendered.add(request)
        except _Problem:
            continue
    return overlays


def _batchable_overlays(found: set[Path], digests: InputDigests) -> list[Path]:
    """The overlays that kustomize_batch can attribute exactly: reaching nothing outside
    themselves, not nested, not setting their own build metadata or sort order."""
    nested = {p for p in found for parent in p.parents if parent in found}
    nested |= {parent for p in nested for parent in p.parents}
    return sorted(p for p in found - nested
                  if digests.closure_of(p) == {p} and _plain_kustomization(p))


def _plain_kustomization(overlay: Path) -> bool:
    kustomization = _kustomization_file(overlay)
    if kustomization is None:
        return False
    text = kustomization.read_bytes()
    return b"buildMetadata" not in text and b"sortOptions" not in text


def _applications_of(customer: str, apps: dict[str, Any] | Sequence[Manifest]) -> list[Manifest]:
    if isinstance(apps, dict):
        return [Manifest(customer, apps, application_path(customer))]
    return sorted(apps, key=lambda m: (m.source, m.name))


def build_customer(
    repo_root: Path,
    customer: str,
    application: dict[str, Any],
    toolchain: Toolchain,
    kube_version: str,
    file: str | None = None,
    engines: _Engines | None = None,
) -> BuildResult:
    """Build all sources of one Application into the objects Argo CD would apply.

    `file` is where the Application is written (findings name it); by default the
    customer's `application_path`.
    """
    result = BuildResult(customer)
    try:
        app = _read_application(repo_root, customer, application, toolchain, kube_version,
                                file or application_path(customer), engines or _Engines())
    except _Problem as problem:
        result.findings.append(problem.finding(customer))
        return result
    for source in app.sources:
        try:
            result.manifests.extend(_build_source(app, source))
        except _Problem as problem:
            result.findings.append(problem.finding(customer))
        except _Problems as problems:
            result.findings.extend(p.finding(customer) for p in problems.problems)
    _default_namespaces(result.manifests, app.namespace)
    return result


class _Problem(Exception):
    """One build finding, raised inside this module and turned into a `Finding` at its edge."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.file, self.message, self.line = file, message, line

    def finding(self, customer: str) -> Finding:
        return Finding(self.file, self.line, customer, RULE, self.message)


class _Problems(Exception):
    def __init__(self, problems: list[_Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


@dataclass(frozen=True)
class _App:
    """What every source of one Application is built with."""

    root: Path  # resolved repo root
    customer: str
    name: str
    namespace: str
    kube_version: str
    toolchain: Toolchain
    sources: list[dict[str, Any]]
    repo_url: str  # normalized URL of this repository, as the Application names it
    refs: dict[str, Path]  # "$values" -> the directory that ref stands for
    file: str  # repo-relative file holding the Application
    engines: _Engines = field(default_factory=_Engines)

    def rel(self, path: Path) -> str:
        """`path` relative to the repo root, POSIX style; "." for the root itself."""
        return relative_posix(path, self.root)


# -- reading the Application ---------------------------------------------------------------


def _read_application(
    repo_root: Path,
    customer: str,
    application: dict[str, Any],
    toolchain: Toolchain,
    kube_version: str,
    file: str,
    engines: _Engines | None = None,
) -> _App:
    spec = _mapping(application.get("spec"))
    name = _mapping(application.get("metadata")).get("name")
    sources = _sources(spec)
    if not isinstance(name, str) or not name or not sources:
        raise _Problem(
            file, "not an Argo CD Application: needs metadata.name and spec.source or spec.sources"
        )
    root = (engines or _Engines()).paths.resolve(repo_root)
    destination = _mapping(spec.get("destination"))
    repo_url = _own_repo_url(sources)
    refs = {
        f"${s['ref']}": root
        for s in sources
        if isinstance(s.get("ref"), str) and _normalize_url(s.get("repoURL")) == repo_url
    }
    return _App(
        root,
        customer,
        name,
        str(destination.get("namespace") or ""),
        kube_version,
        toolchain,
        sources,
        repo_url,
        refs,
        file,
        engines or _Engines(),
    )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sources(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(spec.get("sources"), list):
        return [s for s in spec["sources"] if isinstance(s, dict)]
    return [spec["source"]] if isinstance(spec.get("source"), dict) else []


def _own_repo_url(sources: list[dict[str, Any]]) -> str:
    """The repo the Application builds from: that of its first `path` source."""
    with_path = [s for s in sources if "path" in s] or sources
    return _normalize_url(with_path[0].get("repoURL"))


def _normalize_url(url: object) -> str:
    return str(url or "").strip().rstrip("/").removesuffix(".git").lower()


# -- one source ----------------------------------------------------------------------------


def _build_source(app: _App, source: dict[str, Any]) -> list[Manifest]:
    resolved = _resolve_source(app, source)
    if resolved is None:
        return []  # a `ref` source only names a checkout for `$ref/...` value files
    kind, app_dir = resolved
    return _helm(app, source, app_dir) if kind == "helm" else _kustomize(app, source, app_dir)


def _resolve_source(app: _App, source: dict[str, Any]) -> tuple[str, Path] | None:
    """The source's type ("helm" or "kustomize") and directory; None for a `ref` source."""
    if _normalize_url(source.get("repoURL")) != app.repo_url:
        # This tree is the only checkout there is: a source (or `$ref`) from another
        # repository could only be built by cloning it, which validation must not do.
        raise _Problem(
            app.file,
            f"source repoURL {source.get('repoURL')!r} is not this "
            f"repository ({app.repo_url!r}); only same-repo sources "
            "are built",
        )
    if "chart" in source:
        raise _Problem(
            app.file,
            f"Helm repository chart {source['chart']!r} is not built: "
            "only charts in this repository are",
        )
    if "path" not in source:
        if "ref" in source:
            return None
        raise _Problem(app.file, "source has neither path nor ref")
    app_dir = _inside(app, app.root, str(source["path"] or "."), app.file)
    found = _source_dir(app, app_dir)
    if not found.is_dir:
        raise _Problem(app.file, f"source path {source['path']!r} is not a directory")
    return _source_type(app, source, found), app_dir


def _source_type(app: _App, source: dict[str, Any], found: _SourceDir) -> str:
    """Argo CD's choice: explicit `helm:`/`kustomize:` options, else what the path holds.

    Discovery marks a path holding both Chart.yaml and a kustomization as kustomize.
    """
    explicit = [k for k in ("helm", "kustomize", "directory", "plugin") if source.get(k)]
    if len(explicit) > 1:
        raise _Problem(
            app.file,
            f"source {source['path']!r} sets {' and '.join(explicit)}: "
            "Argo CD refuses multiple source types",
        )
    if explicit and explicit[0] in ("helm", "kustomize"):
        return explicit[0]
    if not explicit and found.kustomization:
        return "kustomize"
    if not explicit and found.chart:
        return "helm"
    raise _Problem(
        app.file,
        f"source {source['path']!r} is neither a Helm chart nor a kustomization; "
        "directory and plugin sources are not built",
    )


def _inside(app: _App, base: Path, relative: str, file: str) -> Path:
    """`base/relative`, refused if it (or a symlink in it) leaves the repository."""
    path = app.engines.paths.resolve(base / relative.lstrip("/"))
    if not is_within(path, app.root):
        raise _Problem(file, f"{relative!r} resolves outside the repository")
    return path


def _kustomization_file(app_dir: Path) -> Path | None:
    return next((app_dir / n for n in KUSTOMIZATION_NAMES if (app_dir / n).is_file()), None)


# -- helm ----------------------------------------------------------------------------------


def _helm(app: _App, source: dict[str, Any], chart_dir: Path) -> list[Manifest]:
    opts = _mapping(source.get("helm"))
    in_process = app.engines.helm
    if in_process is None or in_process.trusted(chart_dir) is False:
        return _helm_binary(app, opts, chart_dir)
    manifests = _helm_in_process(app, in_process, opts, chart_dir)
    if manifests is None:
        return _helm_binary(app, opts, chart_dir)
    with in_process.checked(chart_dir):
        if in_process.trusted(chart_dir) is None:
            # The first render of each chart in a run is compared with the binary's.
            try:
                reference = _helm_binary(app, opts, chart_dir)
            except (_Problem, _Problems):
                in_process.record(chart_dir, False)
                raise
            in_process.record(chart_dir, _canonical(manifests) == _canonical(reference))
            return reference
    if not in_process.trusted(chart_dir):
        return _helm_binary(app, opts, chart_dir)
    in_process.count_use()
    return manifests


# Source options the in-process helm reproduces (see helm_inprocess.py); any other
# option set means the binary.
_IN_PROCESS_OPTIONS = frozenset(
    {"releaseName", "namespace", "valueFiles", "ignoreMissingValueFiles", "parameters",
     "skipCrds"})


def _helm_in_process(app: _App, helm: InProcessHelm, opts: dict[str, Any],
                     chart_dir: Path) -> list[Manifest] | None:
    """The manifests the SDK renders, or None where the binary must run."""
    request = _render_request(app, opts, chart_dir)
    if request is None:
        return None
    chart_rel = app.rel(chart_dir)
    if app.engines.prerendered is not None:
        done, rendered = app.engines.prerendered.take(request)
        if done:
            return None if rendered is None else [
                Manifest(app.customer, obj, _chart_file(chart_rel, template) or chart_rel)
                for template, obj in rendered[0]]
    text = helm.render(*request)
    if text is None:
        return None
    try:
        return _manifests(app, text, lambda src: _chart_file(chart_rel, src) or chart_rel)
    except _Problems:
        return None  # the binary's message names the problem its way


def _render_request(app: _App, opts: dict[str, Any], chart_dir: Path) -> RenderRequest | None:
    """What the in-process helm renders for this source; None: options it cannot do."""
    if any(v for k, v in opts.items() if k not in _IN_PROCESS_OPTIONS):
        return None
    try:
        value_files = tuple(_value_files(app, opts, chart_dir))
    except _Problem:
        return None  # the binary reports it
    plain, forced = _parameters(opts)
    parameters = [SetParameter(name, value, string=False) for name, value in plain.items()]
    parameters += [SetParameter(name, value, string=True) for name, value in forced.items()]
    return (chart_dir, str(opts.get("releaseName") or app.name),
            str(opts.get("namespace") or app.namespace), value_files, tuple(parameters))


def _canonical(manifests: list[Manifest]) -> list[str]:
    return sorted(json.dumps([m.source, m.obj], sort_keys=True, default=str) for m in manifests)


def _helm_binary(app: _App, opts: dict[str, Any], chart_dir: Path) -> list[Manifest]:
    with tempfile.TemporaryDirectory(prefix="gitops-gen-helm-") as tmp:
        cmd = _helm_command(app, opts, chart_dir, Path(tmp))
        try:
            out = run(cmd, cwd=chart_dir, env=_helm_env(Path(tmp))).stdout
        except ToolFailed as exc:
            raise _helm_problem(app, chart_dir, exc.stderr, tmp, opts) from None
    chart_rel = app.rel(chart_dir)
    return _manifests(app, out, lambda src: _chart_file(chart_rel, src) or chart_rel)


def _helm_command(app: _App, opts: dict[str, Any], chart_dir: Path, tmp: Path) -> list[str]:
    """The argument list of argo-cd `Cmd.template`, in its order."""
    namespace = str(opts.get("namespace") or app.namespace)
    kube_version = str(opts.get("kubeVersion") or app.kube_version)
    cmd = [
        str(app.toolchain.helm),
        "template",
        ".",
        "--name-template",
        str(opts.get("releaseName") or app.name),
    ]
    if namespace:
        cmd += ["--namespace", namespace]
    if kube_version:
        cmd += ["--kube-version", kube_version.replace("+", "")]  # argo-cd text.SemVer
    cmd += _set_flags(opts)
    for param in _list_of_mappings(opts.get("fileParameters")):
        path = _value_path(app, chart_dir, str(param.get("path", "")))
        cmd += ["--set-file", f"{param.get('name')}={_escape_set(str(path))}"]
    for values_file in _value_files(app, opts, chart_dir):
        cmd += ["--values", str(values_file)]
    if inline := _inline_values(opts):
        (tmp / "values.yaml").write_text(inline, encoding="utf-8")
        cmd += ["--values", str(tmp / "values.yaml")]
    for api_version in opts.get("apiVersions") or []:
        cmd += ["--api-versions", str(api_version)]
    cmd += [] if opts.get("skipCrds") else ["--include-crds"]
    cmd += ["--skip-schema-validation"] if opts.get("skipSchemaValidation") else []
    return cmd + (["--skip-tests"] if opts.get("skipTests") else [])


def _helm_env(tmp: Path) -> dict[str, str]:
    # As Argo CD does: a fresh helm home, so the user's repositories, plugins and registry
    # logins cannot change what a chart renders to.
    return {
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "HELM_CONFIG_HOME": str(tmp / "config"),
    }


def _list_of_mappings(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _set_flags(opts: dict[str, Any]) -> list[str]:
    flags: list[str] = []
    for flag, params in zip(("--set", "--set-string"), _parameters(opts), strict=True):
        for name, value in params.items():
            flags += [flag, f"{name}={value}"]
    return flags


def _parameters(opts: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(`--set` parameters, `--set-string` parameters), values escaped as Argo CD does."""
    # Argo CD collects parameters in maps keyed by name: the last one of a name wins.
    plain: dict[str, str] = {}
    forced: dict[str, str] = {}
    for param in _list_of_mappings(opts.get("parameters")):
        target = forced if param.get("forceString") else plain
        target[str(param.get("name"))] = _escape_set(_scalar_text(param.get("value", "")))
    return plain, forced


def _scalar_text(value: object) -> str:
    """A parameter value as the string Argo CD's Go struct holds (YAML `true` -> "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _escape_set(value: str) -> str:
    """argo-cd `cleanSetParameters`: escape commas, except in `{a,b}` list syntax."""
    if value.startswith("{") and value.endswith("}"):
        return value
    return re.sub(r"(?<!\\),", r"\\,", value)


def _inline_values(opts: dict[str, Any]) -> str:
    """`valuesObject` (which wins, as in Argo CD) or `values`, as a values-file text."""
    if isinstance(opts.get("valuesObject"), dict):
        return json.dumps(opts["valuesObject"])  # JSON is YAML that no parser misreads
    return str(opts.get("values") or "")


def _value_files(app: _App, opts: dict[str, Any], chart_dir: Path) -> Iterator[Path]:
    for raw in opts.get("valueFiles") or []:
        path = _value_path(app, chart_dir, str(raw))
        if path.is_file():
            yield path
        elif not opts.get("ignoreMissingValueFiles"):
            raise _Problem(app.file, f"helm value file {raw!r} does not exist ({app.rel(path)})")


def _value_path(app: _App, chart_dir: Path, raw: str) -> Path:
    """argo-cd `ResolveValueFilePathOrUrl`: `$ref/x` from the ref's checkout, `/x` from
    the repo root, anything else from the chart directory; never outside the repo."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", raw):
        raise _Problem(app.file, f"remote value file {raw!r} is not fetched")
    if raw.startswith("$"):
        ref, _, rest = raw.partition("/")
        if ref not in app.refs:
            raise _Problem(app.file, f"value file {raw!r}: no source has `ref: {ref[1:]}`")
        return _inside(app, app.refs[ref], rest, app.file)
    return _inside(app, app.root if raw.startswith("/") else chart_dir, raw, app.file)


def _chart_file(chart_rel: str, helm_path: str | None) -> str | None:
    """`demo/templates/x.yaml` -> `<chart path>/templates/x.yaml`.

    Helm names a chart's files after the chart's name, not its directory.
    """
    _, sep, inside = (helm_path or "").partition("/")
    if not sep:
        return None
    return inside if chart_rel == "." else f"{chart_rel}/{inside}"


# Helm names a template as `chartname/templates/x.yaml`, optionally `:line[:col]`.
_HELM_TEMPLATE_REF = re.compile(
    r"(?:^|[\s(\"'])([\w.-]+/(?:charts/[\w.-]+/)*(?:templates|crds)/[^\s:()\"']+)(?::(\d+))?"
)
_YAML_LINE = re.compile(r"\byaml: line (\d+)")
# helm's values.schema.json verdict: "... in the following chart(s): x: - at '/a/b': ..."
_VALUES_SCHEMA_PATH = re.compile(r"values don't meet the specifications.*? at '/([^/']*)")


def _helm_problem(
    app: _App, chart_dir: Path, stderr: str, tmp: str, opts: dict[str, Any]
) -> _Problem:
    message = _error_message(app, stderr).replace(tmp + "/values.yaml", "<valuesObject>")
    chart_rel = app.rel(chart_dir)
    if match := _HELM_TEMPLATE_REF.search(message):
        file = _chart_file(chart_rel, match.group(1)) or chart_rel
        return _Problem(file, message, int(match.group(2)) if match.group(2) else None)
    if values_file := _repo_file_named(app, message):
        # A value file is not templated, so YAML's line number is a line of that file.
        return _Problem(values_file, message, _yaml_line(message))
    if match := _VALUES_SCHEMA_PATH.search(message):
        # helm names neither file nor line; the last value file setting the offending
        # top-level key is where the value came from (later files win in helm too).
        key = match.group(1).replace("~1", "/").replace("~0", "~")
        for path in reversed(list(_value_files(app, opts, chart_dir))):
            if line := _top_level_key_line(path, key):
                return _Problem(app.rel(path), message, line)
    return _Problem(chart_rel, message)


def _top_level_key_line(path: Path, key: str) -> int | None:
    pattern = re.compile(rf"""^["']?{re.escape(key)}["']?[ \t]*:""")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return next((n for n, line in enumerate(lines, 1) if pattern.match(line)), None)


def _repo_file_named(app: _App, message: str) -> str | None:
    """The first repo file an (already repo-relative) error message names."""
    for word in re.findall(r"[\w./-]+\.(?:ya?ml|json)\b", message):
        if (app.root / word).is_file():
            return str(word)
    return None


def _yaml_line(message: str) -> int | None:
    match = _YAML_LINE.search(message)
    return int(match.group(1)) if match else None


def _error_message(app: _App, stderr: str, max_lines: int = 6) -> str:
    """The useful lines of a Go tool's stderr, repo paths made repo-relative."""
    lines = []
    for line in stderr.replace(str(app.root) + "/", "").splitlines():
        text = line.strip().removeprefix("Error: ").removeprefix("error: ")
        if text and not text.startswith("Use --debug flag"):
            lines.append(text)
    return " ".join(lines[:max_lines]) or "failed without a message"


# -- kustomize -----------------------------------------------------------------------------

# Source options Argo CD applies with `kustomize edit`, which changes the checkout; a
# local build cannot do that to the user's tree, so their presence is reported.
_KUSTOMIZE_HARMLESS_OPTIONS = frozenset({"kubeVersion", "apiVersions"})


def _kustomize(app: _App, source: dict[str, Any], overlay: Path) -> list[Manifest]:
    kfile = app.rel(_source_dir(app, overlay).kustomization or overlay)
    edits = sorted(
        k
        for k, v in _mapping(source.get("kustomize")).items()
        if v and k not in _KUSTOMIZE_HARMLESS_OPTIONS
    )
    if edits:
        raise _Problem(
            app.file,
            f"kustomize options {', '.join(edits)} are not supported: "
            "put them in the kustomization instead",
        )
    if (batched := app.engines.overlays.get(overlay)) is not None:
        # copied: two Applications may share an overlay, and namespaces are filled in
        return [Manifest(app.customer, obj, kfile) for obj in plain_copy(batched)]
    try:
        out = run([*app.toolchain.kustomize_cmd, str(overlay)], cwd=app.root).stdout
    except ToolFailed as exc:
        raise _kustomize_problem(app, overlay, kfile, exc.stderr) from None
    return _manifests(app, out, lambda _src: kfile)


def _kustomize_problem(app: _App, overlay: Path, kfile: str, stderr: str) -> _Problem:
    message = _error_message(app, stderr)
    # "... MalformedYAMLError: yaml: line 4: ... in File: cm.yaml" names an overlay file.
    if match := re.search(r"in File: (\S+)", message):
        named = overlay / match.group(1)
        if named.is_file() and named.resolve().is_relative_to(app.root):
            return _Problem(app.rel(named.resolve()), message, _yaml_line(message))
    return _Problem(kfile, message)


# -- tool output -> manifests --------------------------------------------------------------

# Maps helm's `# Source:` path of a document (None if it has none) to a repo file.
_SourceOf = Callable[[str | None], str]


def _manifests(app: _App, text: str, source_of: _SourceOf) -> list[Manifest]:
    """Objects of a multi-document stream, each with the repo file it came from.

    Documents are parsed one at a time, so a parse error names its template; a document
    with `items` is a List and stands for its items, as in Argo CD's `GenerateManifests`.
    """
    manifests: list[Manifest] = []
    problems: list[_Problem] = []
    for template, chunk, kind in documents(text):
        source = source_of(template)
        try:
            manifests += [Manifest(app.customer, obj, source)
                          for obj in SHAPES.objects(kind, chunk)]
        except (yaml.YAMLError, ValueError) as exc:
            problems.append(_Problem(source, f"tool output is not valid Kubernetes YAML: {exc}"))
    if problems:
        raise _Problems(problems)
    return manifests


def _default_namespaces(manifests: list[Manifest], namespace: str) -> None:
    """Put namespaced objects without a namespace where Argo CD applies them."""
    if not namespace:
        return
    cluster_kinds = CLUSTER_SCOPED_KINDS | _cluster_scoped_custom_kinds(manifests)
    for manifest in manifests:
        meta = manifest.obj.get("metadata")
        namespaced = manifest.kind not in cluster_kinds
        if namespaced and isinstance(meta, dict) and not meta.get("namespace"):
            meta["namespace"] = namespace


def _cluster_scoped_custom_kinds(manifests: list[Manifest]) -> set[str]:
    kinds = set()
    for manifest in manifests:
        spec = _mapping(manifest.obj.get("spec"))
        if manifest.kind == "CustomResourceDefinition" and spec.get("scope") == "Cluster":
            kinds.add(str(_mapping(spec.get("names")).get("kind", "")))
    return kinds
