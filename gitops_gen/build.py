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

import json
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitops_gen.model import BuildResult, Finding, Manifest
from gitops_gen.procs import ToolFailed, run
from gitops_gen.toolchain import Toolchain

RULE = "build"
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

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


def build_all(
    repo_root: Path,
    apps: Mapping[str, dict[str, Any] | Sequence[Manifest]],
    toolchain: Toolchain,
    kube_version: str,
    jobs: int,
) -> dict[str, BuildResult]:
    """Build every customer's Applications, `jobs` at a time; one result per customer,
    keyed in sorted customer order.

    A customer's value is its Application object (in `application_path`), or the
    Application manifests read from its generated files: a customer may have several (one
    per cluster, say), each built on its own and the results merged in file order.
    """
    builds = [(name, app) for name in sorted(apps) for app in _applications_of(name, apps[name])]
    # Threads suffice: the work is in helm/kustomize subprocesses, which release the GIL.
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = pool.map(
            lambda build: build_customer(repo_root, build[0], build[1].obj, toolchain,
                                         kube_version, build[1].source),
            builds,
        )
        merged = {name: BuildResult(name) for name in sorted(apps)}
        for (name, _), result in zip(builds, results, strict=True):
            merged[name].manifests.extend(result.manifests)
            merged[name].findings.extend(result.findings)
        return merged


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
) -> BuildResult:
    """Build all sources of one Application into the objects Argo CD would apply.

    `file` is where the Application is written (findings name it); by default the
    customer's `application_path`.
    """
    result = BuildResult(customer)
    try:
        app = _read_application(repo_root, customer, application, toolchain, kube_version,
                                file or application_path(customer))
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

    def rel(self, path: Path) -> str:
        """`path` relative to the repo root, POSIX style; "." for the root itself."""
        return path.relative_to(self.root).as_posix() or "."


# -- reading the Application ---------------------------------------------------------------


def _read_application(
    repo_root: Path,
    customer: str,
    application: dict[str, Any],
    toolchain: Toolchain,
    kube_version: str,
    file: str,
) -> _App:
    spec = _mapping(application.get("spec"))
    name = _mapping(application.get("metadata")).get("name")
    sources = _sources(spec)
    if not isinstance(name, str) or not name or not sources:
        raise _Problem(
            file, "not an Argo CD Application: needs metadata.name and spec.source or spec.sources"
        )
    root = repo_root.resolve()
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
            return []  # a `ref` source only names a checkout for `$ref/...` value files
        raise _Problem(app.file, "source has neither path nor ref")
    app_dir = _inside(app, app.root, str(source["path"] or "."), app.file)
    if not app_dir.is_dir():
        raise _Problem(app.file, f"source path {source['path']!r} is not a directory")
    kind = _source_type(app, source, app_dir)
    return _helm(app, source, app_dir) if kind == "helm" else _kustomize(app, source, app_dir)


def _source_type(app: _App, source: dict[str, Any], app_dir: Path) -> str:
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
    if not explicit and _kustomization_file(app_dir):
        return "kustomize"
    if not explicit and (app_dir / "Chart.yaml").is_file():
        return "helm"
    raise _Problem(
        app.file,
        f"source {source['path']!r} is neither a Helm chart nor a kustomization; "
        "directory and plugin sources are not built",
    )


def _inside(app: _App, base: Path, relative: str, file: str) -> Path:
    """`base/relative`, refused if it (or a symlink in it) leaves the repository."""
    path = (base / relative.lstrip("/")).resolve()
    if not path.is_relative_to(app.root):
        raise _Problem(file, f"{relative!r} resolves outside the repository")
    return path


def _kustomization_file(app_dir: Path) -> Path | None:
    return next((app_dir / n for n in KUSTOMIZATION_NAMES if (app_dir / n).is_file()), None)


# -- helm ----------------------------------------------------------------------------------


def _helm(app: _App, source: dict[str, Any], chart_dir: Path) -> list[Manifest]:
    opts = _mapping(source.get("helm"))
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
    # Argo CD collects parameters in maps keyed by name: the last one of a name wins.
    plain: dict[str, str] = {}
    forced: dict[str, str] = {}
    for param in _list_of_mappings(opts.get("parameters")):
        target = forced if param.get("forceString") else plain
        target[str(param.get("name"))] = _scalar_text(param.get("value", ""))
    flags: list[str] = []
    for flag, params in (("--set", plain), ("--set-string", forced)):
        for name, value in params.items():
            flags += [flag, f"{name}={_escape_set(value)}"]
    return flags


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
    kfile = app.rel(_kustomization_file(overlay) or overlay)
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
_DOC_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
_SOURCE_COMMENT = re.compile(r"^# Source: (\S.*?)\s*$", re.MULTILINE)


def _manifests(app: _App, text: str, source_of: _SourceOf) -> list[Manifest]:
    """Objects of a multi-document stream, each with the repo file it came from.

    Documents are parsed one at a time, so a parse error names its template; a document
    with `items` is a List and stands for its items, as in Argo CD's `GenerateManifests`.
    """
    manifests: list[Manifest] = []
    problems: list[_Problem] = []
    for chunk in _DOC_SEPARATOR.split(text):
        comment = _SOURCE_COMMENT.search(chunk)
        source = source_of(comment.group(1) if comment else None)
        try:
            manifests += [Manifest(app.customer, obj, source) for obj in _objects(chunk)]
        except (yaml.YAMLError, ValueError) as exc:
            problems.append(_Problem(source, f"tool output is not valid Kubernetes YAML: {exc}"))
    if problems:
        raise _Problems(problems)
    return manifests


def _objects(chunk: str) -> list[dict[str, Any]]:
    doc = yaml.load(chunk, Loader=GoYamlLoader)
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise ValueError(f"a document is a {type(doc).__name__}, not an object")
    items = doc.get("items")
    if isinstance(items, list):
        return [_object(item) for item in items]
    if items is None and str(doc.get("kind", "")).endswith("List") and "items" in doc:
        return []  # argo-cd isNullList: a List whose items are null is dropped
    return [_object(doc)]


def _object(value: object) -> dict[str, Any]:
    # Argo CD decodes into `unstructured.Unstructured`, which requires a kind.
    if not isinstance(value, dict) or not value.get("kind"):
        raise ValueError("Object 'Kind' is missing")
    return value


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


# -- YAML as Go reads it -------------------------------------------------------------------


class GoYamlLoader(yaml.CSafeLoader):
    """PyYAML's C safe loader with the implicit types of Go's yaml.v2 (YAML 1.1).

    Argo CD, kubectl and Kubernetes read manifests with Go's YAML, which differs from
    PyYAML's YAML 1.1 in ways that change values: `y`/`n` are booleans; `2024-01-01` and
    `=` stay strings; `1e3` is a float; `1:30` is a string, not sexagesimal 90.
    """


def _construct_go_bool(loader: GoYamlLoader, node: yaml.Node) -> bool:
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    return str(value).lower() in ("y", "yes", "true", "on")


def _go_implicit_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    replaced = {"bool", "int", "float", "timestamp", "value"}
    kept = {
        first: [(tag, rx) for tag, rx in resolvers if tag.rsplit(":", 1)[-1] not in replaced]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }
    go_types = (
        (
            "bool",
            r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE"
            r"|on|On|ON|off|Off|OFF)$",
            "yYnNtTfFoO",
        ),
        (
            "int",
            r"^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0(?:o[0-7_]+|[0-7_]*)|[1-9][0-9_]*)$",
            "-+0123456789",
        ),
        (
            "float",
            r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+0123456789.",
        ),
    )
    for name, pattern, firsts in go_types:
        for first in firsts:
            kept.setdefault(first, []).append((f"tag:yaml.org,2002:{name}", re.compile(pattern)))
    return kept


GoYamlLoader.yaml_implicit_resolvers = _go_implicit_resolvers()
GoYamlLoader.add_constructor("tag:yaml.org,2002:bool", _construct_go_bool)
