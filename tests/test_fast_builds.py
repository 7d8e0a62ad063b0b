"""The fast build paths give what the reference path gives: one `kustomize build` per
overlay and one `helm template` process per chart source.

- the kustomize batch (gitops_gen/kustomize_batch.py), on this repository's customers,
  every example platform's, and overlays made to stress attribution;
- the in-process helm (gitops_gen/helm_inprocess.py), on the same customers, and on
  charts and options it must leave to the binary; in this process's threads and in the
  worker processes a large build forks (from a fresh interpreter: a process that has
  loaded the SDK does not fork);
- values.schema.json checked by jsonschema-rs instead of Helm: the same verdict as the
  helm binary's on values made to probe the subset it is used for, the binary's finding
  for values that break the schema, and Helm's own check for schemas outside the subset.

Compared as sorted canonical JSON: helm itself orders objects of one kind the way Go's
map iteration falls.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.argocd import applications, argocd_objects
from gitops_gen.build import BuildOptions, BuildStats, build_all
from gitops_gen.goyaml import GoYamlLoader, objects_of_value
from gitops_gen.helm_inprocess import ValuesSchema, _portable_regex, rendered_chunk, sent_chunk
from gitops_gen.kustomize_batch import BATCH_MAX, SOLO, batches, build_overlays
from gitops_gen.model import BuildResult, Manifest
from gitops_gen.platform import load_platform
from gitops_gen.procs import run
from gitops_gen.toolchain import Toolchain, find_toolchain
from gitops_gen.tree import generated_files
from tests.conftest import REPO_ROOT
from tests.tinyrepo import application

KUBE = "1.37"
PLATFORMS = [REPO_ROOT, *sorted(p for p in (REPO_ROOT / "examples").iterdir()
                                if (p / "gitops-gen.yaml").is_file())]
REFERENCE = BuildOptions(batch_kustomize=False, in_process_helm=False)
Objects = list[dict[str, Any]]
Canonical = dict[str, list[str]]


def fast_options(stats: BuildStats) -> BuildOptions:
    """Every fast path, the in-process helm too however few the builds."""
    return BuildOptions(stats=stats, in_process_helm_from=1)


def canonical(results: dict[str, BuildResult]) -> dict[str, list[str]]:
    return {name: sorted(json.dumps([m.source, m.obj], sort_keys=True) for m in r.manifests)
            + sorted(f"{f.file}:{f.line}:{f.rule}:{f.message}" for f in r.findings)
            for name, r in results.items()}


def platform_apps(root: Path) -> dict[str, list[Manifest]]:
    platform = load_platform(root)
    objects, _ = argocd_objects(root, generated_files(platform))
    return dict(applications(objects))


# In a fresh interpreter (which has not loaded the SDK, so build_all may fork): the
# platform built with worker processes from the first build; its results and stats.
# Modes: "thread" runs another thread meanwhile, "crash" makes each worker die.
WORKER_BUILD = """
import json, os, sys, threading
from dataclasses import asdict
from pathlib import Path
import gitops_gen.helm_inprocess
from gitops_gen.build import BuildOptions, BuildStats, build_all
from gitops_gen.toolchain import find_toolchain
from tests.test_fast_builds import KUBE, canonical, platform_apps
root, mode = Path(sys.argv[1]), sys.argv[2]
if mode == "thread":
    threading.Thread(target=threading.Event().wait, daemon=True).start()
if mode == "crash":
    gitops_gen.helm_inprocess._render_objects = lambda helm, request: os._exit(3)
stats = BuildStats()
built = build_all(root, platform_apps(root), find_toolchain({}), KUBE, 2,
                  BuildOptions(stats=stats, in_process_helm_from=1,
                               worker_processes_from=1))
print(json.dumps({"canonical": canonical(built), "stats": asdict(stats),
                  "sdk_loaded_here": "helm_python" in sys.modules}))
"""


def worker_build(root: Path, mode: str = "plain") -> tuple[Canonical, dict[str, int]]:
    proc = subprocess.run([sys.executable, "-c", WORKER_BUILD, str(root), mode], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300, check=True)
    out = json.loads(proc.stdout)
    # the SDK's library is loaded here only for renders the workers did not do
    assert out["sdk_loaded_here"] == (mode != "plain")
    return out["canonical"], out["stats"]


@pytest.mark.parametrize("root", PLATFORMS, ids=lambda p: p.name)
def test_fast_paths_equal_the_reference_on_real_platforms(root: Path) -> None:
    apps = platform_apps(root)
    assert apps
    tools = find_toolchain({})
    reference = canonical(build_all(root, apps, tools, KUBE, 2, REFERENCE))
    stats = BuildStats()
    fast = build_all(root, apps, tools, KUBE, 2, fast_options(stats))
    assert canonical(fast) == reference
    assert stats.built == stats.applications == sum(len(a) for a in apps.values())
    if len(apps) > 1:
        assert stats.batched_overlays >= 2
    assert stats.in_process_helm >= 1  # the first render of each chart is the binary's
    assert stats.worker_processes == 0  # this process has loaded the SDK: threads
    if root == REPO_ROOT:  # its chart's values.schema.json keeps to ValuesSchema's subset
        assert stats.values_checked_here == stats.applications
    in_workers, worker_stats = worker_build(root)
    assert in_workers == reference
    assert worker_stats["worker_processes"] == 2
    assert worker_stats["in_process_helm"] == stats.in_process_helm
    assert worker_stats["values_checked_here"] == stats.values_checked_here


def test_a_chunk_of_worker_renders_comes_back_equal_with_its_shared_strings_shared() -> None:
    """The main process keeps every render for the run: the keys that one document shape
    gives all a chunk's renders stay one string each, as in the worker."""
    key = "".join(["app.kubernetes.io/", "name"])  # not interned: shared only by reference
    renders = [([("templates/a.yaml", {"metadata": {"labels": {key: name}}})], True)
               for name in ("acme", "globex")]
    back = rendered_chunk(sent_chunk([*renders, None]))
    assert back == [*renders, None]
    first, second = (next(iter(obj["metadata"]["labels"])) for [(_, obj)], _ in back[:2])
    assert first is second
    # what marshal cannot write (a YAML timestamp some loaders make a date) goes as it is
    unsendable: list[Any] = [([("t.yaml", {"day": datetime.date(2026, 12, 5)})], False)]
    assert rendered_chunk(sent_chunk(unsendable)) is unsendable


def test_no_worker_processes_beside_another_thread() -> None:
    """A fork copies only the calling thread: a lock another one holds would stay held."""
    built, stats = worker_build(REPO_ROOT, "thread")
    assert stats["worker_processes"] == 0 and stats["in_process_helm"] >= 1
    assert built == canonical(build_all(REPO_ROOT, platform_apps(REPO_ROOT),
                                        find_toolchain({}), KUBE, 2, REFERENCE))


def test_renders_of_workers_that_die_are_done_here() -> None:
    built, stats = worker_build(REPO_ROOT, "crash")
    assert stats["worker_processes"] == 2 and stats["in_process_helm"] >= 1
    assert built == canonical(build_all(REPO_ROOT, platform_apps(REPO_ROOT),
                                        find_toolchain({}), KUBE, 2, REFERENCE))


@pytest.mark.parametrize(("given", "kept"), [(None, "400"), ("50", "50")])
def test_the_sdk_collects_less_often_unless_told(given: str | None, kept: str) -> None:
    """Go's runtime reads GOGC as the SDK loads: 400 unless the user set one."""
    env = {k: v for k, v in os.environ.items() if k != "GOGC"} | (
        {"GOGC": given} if given else {})
    code = ("import os; from gitops_gen.helm_inprocess import InProcessHelm; "
            "assert InProcessHelm.load(); print(os.environ['GOGC'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == kept


def test_a_run_collects_garbage_rarely_and_puts_the_thresholds_back(
        platform_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command runs at cli.RUN_GC_THRESHOLDS (seen where it loads the platform), and
    the caller's thresholds are back when it returns."""
    import gc

    from gitops_gen import cli

    seen: list[tuple[int, ...]] = []

    def load_platform_seen(start: Path) -> Any:
        seen.append(gc.get_threshold())
        return load_platform(start)

    monkeypatch.setattr(cli, "load_platform", load_platform_seen)
    monkeypatch.chdir(platform_copy)
    before = gc.get_threshold()
    assert cli.main(["list", "--format", "json"]) == 0
    assert seen == [cli.RUN_GC_THRESHOLDS] != [before]
    assert gc.get_threshold() == before


# --- the kustomize batch on overlays made for it --------------------------------------


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


OVERLAYS = {
    "o1/kustomization.yaml": """\
        namespace: ns1
        resources: [cm.yaml, list.yaml]
        configMapGenerator:
          - name: gen
            literals: [a=b]
        patches:
          - patch: '[{"op": "add", "path": "/metadata/annotations/x", "value": "y"}]'
            target: {kind: ConfigMap, name: plain}
        """,
    "o1/cm.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: plain, annotations: {}}
        data: {a: "1"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: kept, annotations: {team: a}, labels: {}}
        """,
    "o1/list.yaml": """\
        apiVersion: v1
        kind: List
        items:
          - {apiVersion: v1, kind: ServiceAccount, metadata: {name: s}}
        """,
    "o2/kustomization.yaml": "namespace: ns2\nresources: [role.yaml]\n",
    "o2/role.yaml": """\
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: shared-name}
        rules: []
        """,
    # the same cluster-scoped object as o2: a batch holding both fails, halves do not
    "o3/kustomization.yaml": "resources: [role.yaml]\n",
    "o3/role.yaml": """\
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: shared-name}
        rules: []
        """,
    "o4/kustomization.yaml": "resources: [missing.yaml]\n",  # fails on its own
    "o5/kustomization.yaml": "namespace: ns5\nresources: [cm.yaml]\n",
    "o5/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: five}\n",
}


def alone(overlay: Path, tools: Toolchain) -> Objects:
    out = run([*tools.kustomize_cmd, str(overlay)]).stdout
    return [o for doc in yaml.load_all(out, Loader=GoYamlLoader) for o in objects_of_value(doc)]


def test_batch_output_equals_per_overlay_builds(tmp_path: Path, tools: Toolchain) -> None:
    write(tmp_path, OVERLAYS)
    overlays = sorted((tmp_path / name).resolve() for name in ("o1", "o2", "o3", "o4", "o5"))
    built = build_overlays(overlays, tools.kustomize_cmd, jobs=1)
    names = {p.name for p in built}
    # o4 fails, so it is left to build alone; o2 and o3 collide together, not apart
    assert "o4" not in names and {"o1", "o2", "o3"} <= names
    for overlay, objects in built.items():
        assert objects == alone(overlay, tools), overlay.name  # order included
    [kept] = [o for o in built[overlays[0]] if o["metadata"]["name"] == "kept"]
    assert kept["metadata"]["annotations"] == {"team": "a"}  # only the origin was removed


def test_an_overlay_reaching_outside_itself_is_built_alone(
    tmp_path: Path, tools: Toolchain
) -> None:
    """Its objects' origin would name the base, not the overlay: not batched."""
    write(tmp_path, {
        "gitops/base/kustomization.yaml": "resources: [cm.yaml]\n",
        "gitops/base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
        "gitops/apps/customer-a/kustomization.yaml": "namespace: a\nresources: [../../base]\n",
        "gitops/apps/customer-b/kustomization.yaml": "namespace: b\nresources: [../../base]\n",
    })
    apps = {}
    for name in ("a", "b"):
        app = application(name)
        app["spec"]["sources"] = app["spec"]["sources"][1:2]
        apps[name] = app
    stats = BuildStats()
    fast = build_all(tmp_path, apps, tools, KUBE, 2, fast_options(stats))
    assert stats.batched_overlays == 0
    assert canonical(fast) == canonical(build_all(tmp_path, apps, tools, KUBE, 2, REFERENCE))
    assert [m.namespace for m in fast["b"].manifests] == ["b"]


@pytest.mark.parametrize("count, jobs", [
    (2, 2), (3, 2), (5, 4), (10, 4), (399, 2), (800, 2), (801, 2), (1000, 2), (1000, 3),
    (10_000, 2), (10_000, 1), (50, 0)])
def test_batches_keep_every_core_busy_to_the_end(count: int, jobs: int) -> None:
    """Every overlay once, in sorted order; no batch above BATCH_MAX nor below SOLO;
    sizes within one of each other; and, where there are enough overlays, a multiple of
    `jobs` batches (1,000 overlays on two cores were three batches, the last one
    running alone)."""
    overlays = [Path(f"/repo/gitops/apps/customer-{i:05d}") for i in range(count)]
    cut = batches(overlays[::-1], jobs)
    sizes = [len(batch) for batch in cut]
    assert [overlay for batch in cut for overlay in batch] == overlays
    assert max(sizes) <= BATCH_MAX and min(sizes) >= SOLO and max(sizes) - min(sizes) <= 1
    if count // SOLO >= 2 * max(jobs, 1):
        assert len(cut) % max(jobs, 1) == 0
    assert batches(overlays[:1], jobs) == []


# --- the in-process helm leaves to the binary what it cannot do the same ---------------



def build_both(repo_root: Path, tools: Toolchain,
               app: dict[str, Any]) -> tuple[BuildStats, Canonical, Canonical]:
    stats = BuildStats()
    apps = {"acme": app}
    fast = build_all(repo_root, apps, tools, KUBE, 1, fast_options(stats))
    return stats, canonical(fast), canonical(build_all(repo_root, apps, tools, KUBE, 1, REFERENCE))


def test_the_sdk_renders_a_plain_chart(repo: Path, tools: Toolchain) -> None:
    # test_build's chart prints .Capabilities.KubeVersion: the binary must build it
    stats, fast, reference = build_both(repo, tools, application())
    assert fast == reference
    assert stats.in_process_helm == 0
    configmap = repo / "gitops" / "chart" / "templates" / "configmap.yaml"
    configmap.write_text(configmap.read_text().replace(
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n", ""))
    apps = {name: application(name) for name in ("acme", "globex")}
    (repo / "gitops/apps/customer-globex").mkdir()
    (repo / "gitops/apps/customer-globex/values.yaml").write_text("greeting: hej\n")
    (repo / "gitops/apps/customer-globex/kustomization.yaml").write_text("resources: []\n")
    stats = BuildStats()
    fast_all = build_all(repo, apps, tools, KUBE, 1, fast_options(stats))
    assert canonical(fast_all) == canonical(build_all(repo, apps, tools, KUBE, 1, REFERENCE))
    assert stats.in_process_helm == 1  # the first render per chart is checked by the binary


@pytest.mark.parametrize("helm_options, in_process", [
    ({"parameters": [{"name": "greeting", "value": "from a parameter"}]}, True),
    ({"parameters": [{"name": "replicas", "value": "5"}]}, False),  # int64 in the binary
    ({"parameters": [{"name": "replicas", "value": "5", "forceString": True}]}, True),
    ({"valuesObject": {"greeting": "inline"}}, False),
    ({"skipSchemaValidation": True}, False),
])
def test_options_the_sdk_cannot_reproduce_go_to_the_binary(
    repo: Path, tools: Toolchain, helm_options: dict[str, Any], in_process: bool
) -> None:
    configmap = repo / "gitops" / "chart" / "templates" / "configmap.yaml"
    configmap.write_text(configmap.read_text().replace(
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n", ""))
    apps = {name: application(name, **helm_options) for name in ("acme", "globex")}
    (repo / "gitops/apps/customer-globex").mkdir()
    (repo / "gitops/apps/customer-globex/values.yaml").write_text("greeting: hej\n")
    (repo / "gitops/apps/customer-globex/kustomization.yaml").write_text("resources: []\n")
    stats = BuildStats()
    fast = build_all(repo, apps, tools, KUBE, 1, fast_options(stats))
    assert canonical(fast) == canonical(build_all(repo, apps, tools, KUBE, 1, REFERENCE))
    assert stats.in_process_helm == (1 if in_process else 0)


def test_a_template_error_carries_the_binarys_message(repo: Path, tools: Toolchain) -> None:
    configmap = repo / "gitops" / "chart" / "templates" / "configmap.yaml"
    configmap.write_text(configmap.read_text().replace(
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n",
        "  broken: {{ .Values.no.such }}\n"))
    stats, fast, reference = build_both(repo, tools, application())
    assert fast == reference
    assert any("templates/configmap.yaml:" in line and ":build:" in line
               for line in fast["acme"])
    assert stats.in_process_helm == 0


def test_a_values_schema_violation_after_the_checked_render_is_the_binarys_finding(
    repo: Path, tools: Toolchain
) -> None:
    """acme's render is the one compared with the binary; globex's, by the SDK, breaks
    values.schema.json: the SDK refuses it too, and the binary says why."""
    configmap = repo / "gitops" / "chart" / "templates" / "configmap.yaml"
    configmap.write_text(configmap.read_text().replace(
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n", ""))
    (repo / "gitops/chart/values.schema.json").write_text(
        '{"type": "object", "properties": {"replicas": {"type": "integer"}}}')
    (repo / "gitops/apps/customer-globex").mkdir()
    (repo / "gitops/apps/customer-globex/values.yaml").write_text("replicas: many\n")
    (repo / "gitops/apps/customer-globex/kustomization.yaml").write_text("resources: []\n")
    apps = {name: application(name) for name in ("acme", "globex")}
    stats = BuildStats()
    fast = canonical(build_all(repo, apps, tools, KUBE, 1, fast_options(stats)))
    assert fast == canonical(build_all(repo, apps, tools, KUBE, 1, REFERENCE))
    assert any("values don't meet the specifications" in line for line in fast["globex"])
    assert stats.in_process_helm == 0
    assert stats.values_checked_here == 1  # acme's, by jsonschema-rs; globex's by Helm


def without_capabilities(repo: Path) -> None:
    configmap = repo / "gitops" / "chart" / "templates" / "configmap.yaml"
    configmap.write_text(configmap.read_text().replace(
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n", ""))


def add_customer(repo: Path, name: str, values: str) -> None:
    (repo / f"gitops/apps/customer-{name}").mkdir()
    (repo / f"gitops/apps/customer-{name}/values.yaml").write_text(values)
    (repo / f"gitops/apps/customer-{name}/kustomization.yaml").write_text("resources: []\n")


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"replicas": {"type": "integer", "format": "int32"}}},
    {"type": "object", "properties": {"replicas": {"type": "integer", "multipleOf": 1}}},
    {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
     "properties": {"replicas": {"type": "integer"}}},
    {"type": "object", "properties": {"greeting": {"pattern": "^[\\w ]+$"},
                                      "replicas": {"type": "integer"}}},
], ids=["format", "multipleOf", "draft-04", "unicode-class"])
def test_a_schema_outside_the_subset_is_left_to_helm(
    repo: Path, tools: Toolchain, schema: dict[str, Any]
) -> None:
    """Valid values still render in-process (Helm checks them); invalid ones get the
    binary's finding."""
    without_capabilities(repo)
    assert ValuesSchema.compile(schema) is None
    (repo / "gitops/chart/values.schema.json").write_text(json.dumps(schema))
    add_customer(repo, "globex", "greeting: hej\nreplicas: 3\n")
    add_customer(repo, "initech", "replicas: many\n")
    apps = {name: application(name) for name in ("acme", "globex", "initech")}
    stats = BuildStats()
    fast = canonical(build_all(repo, apps, tools, KUBE, 1, fast_options(stats)))
    assert fast == canonical(build_all(repo, apps, tools, KUBE, 1, REFERENCE))
    assert any("values don't meet the specifications" in line for line in fast["initech"])
    assert stats.in_process_helm == 1  # globex's
    assert stats.values_checked_here == 0


# A schema using each part of ValuesSchema's subset, and values probing it: jsonschema-rs
# must never accept what the helm binary rejects (and should accept what it accepts).
PROBED_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z]([-a-z0-9]{0,10}[a-z0-9])?$"},
        "replicas": {"type": "integer", "minimum": 0, "maximum": 10},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "tag": {"type": "string",
                "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,5}$|^sha256:[a-f0-9]{4}$"},
        "path": {"type": "string", "pattern": "^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$"},
        "mode": {"enum": ["a", "b", None, 2]},
        "labels": {"type": "object", "propertyNames": {"$ref": "#/definitions/key"},
                   "additionalProperties": {"type": "string", "maxLength": 5},
                   "maxProperties": 2},
        "list": {"type": "array", "minItems": 1, "maxItems": 3,
                 "items": {"$ref": "#/definitions/key"}, "contains": {"const": "a"}},
        "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "both": {"allOf": [{"type": "string"}, {"minLength": 2}],
                 "anyOf": [{"pattern": "^x"}, {"pattern": "y$"}]},
        "cond": {"type": "object", "if": {"required": ["on"]}, "then": {"required": ["x"]},
                 "else": {"not": {"required": ["x"]}}},
        "exact": {"const": 3},
        "text": {"type": ["string", "null"], "minLength": 2},
        "port": {"$ref": "#/definitions/port", "description": "beside $ref: ignored"},
    },
    "patternProperties": {"^x-[a-z]+$": {"type": "boolean"}},
    "definitions": {
        "key": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
    },
}
PROBES = [
    "{}", "name: Bad", "name: ab-", "name: ä", "name: \"a\\n\"", "name: a-b-c",
    "replicas: 10", "replicas: 11", "replicas: -1", "replicas: 2.5", "replicas: 3.0",
    "replicas: '3'", "replicas: null", "ratio: 0", "ratio: 0.5", "ratio: 1",
    "ratio: 0.9999999999999999", "ratio: 1.0e-300", "tag: sha256:abcd", "tag: v1.2.3.4",
    "tag: _x", "tag: sha256:ABCD", "path: /a/b?c", "path: /a b", "path: /é", "mode: null",
    "mode: c", "mode: 2.0", "labels: {a.b: x}", "labels: {A: x}", "labels: {a: toolong}",
    "labels: {a: x, b: y, c: z}", "list: []", "list: [a, b, c, d]", "list: [a]",
    "list: [b]", "list: [a, B]", "either: s", "either: 5", "either: 5.5", "either: true",
    "both: xa", "both: ay", "both: ab", "both: x", "cond: {on: 1}", "cond: {on: 1, x: 2}",
    "cond: {x: 1}", "cond: {}", "exact: 3", "exact: 3.0", "exact: '3'", "text: é",
    "text: éé", "text: null", "port: 0", "port: 80", "port: '80'", "x-on: true",
    "x-on: yes", "x-on: 'true'", "X-on: true", "extra: 1", "either: 9007199254740993",
    "either: 123456789012345678",  # a float64 in Helm; beyond 2^53, so not checked here
]


def test_values_schema_agrees_with_the_helm_binary(tmp_path: Path, tools: Toolchain) -> None:
    import helm_python

    chart = tmp_path / "chart"
    write(chart, {"Chart.yaml": "apiVersion: v2\nname: probe\nversion: 0.1.0\n",
                  "values.yaml": "name: demo\nreplicas: 1\n",
                  "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                       "metadata: {name: x}\n"})
    (chart / "values.schema.json").write_text(json.dumps(PROBED_SCHEMA))
    schema = ValuesSchema.compile(PROBED_SCHEMA)
    assert schema is not None
    sdk_chart = helm_python.Chart.load(str(chart))
    verdicts = []
    for probe in PROBES:
        (tmp_path / "values.yaml").write_text(probe + "\n")
        binary = subprocess.run([str(tools.helm), "template", ".", "--values",
                                 str(tmp_path / "values.yaml")], cwd=chart,
                                capture_output=True, text=True)
        assert binary.returncode == 0 or "values don't meet" in binary.stderr, binary.stderr
        values = sdk_chart.merge_values(helm_python.values_from_yaml(probe + "\n"))
        verdicts.append((probe, schema.accepts(values), binary.returncode == 0))
    assert [v for v in verdicts if v[1] and not v[2]] == []  # never accepts what helm refuses
    # and refuses what helm accepts only where numbers lose exactness
    assert [v[0] for v in verdicts if v[2] and not v[1]] == ["either: 123456789012345678"]
    assert sum(1 for v in verdicts if v[1]) > 20


@pytest.mark.parametrize("schema, inside", [
    ({}, True),
    (True, False),  # not an object at the top
    ({"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {"a": {}},
      "properties": {"x": {"$ref": "#/$defs/a", "type": "string"}}}, True),
    ({"$schema": "http://json-schema.org/draft-07/schema#",
      "properties": {"x": {"$ref": "#/definitions/a", "type": "string"}},
      "definitions": {"a": {}}}, False),  # draft-07 ignores $ref's siblings: not used
    ({"$schema": "https://json-schema.org/draft-07/schema#"}, False),  # an unusual spelling
    ({"$schema": None}, False),
    ({"properties": {"x": {"$ref": "#/definitions/missing"}}}, False),
    ({"properties": {"x": {"$ref": "other.json"}}}, False),
    ({"properties": {"x": {"$schema": "http://json-schema.org/draft-07/schema#"}}}, False),
    ({"$id": "https://example.com/s"}, False),
    ({"properties": {"x": {"maximum": 1.5}}}, False),
    ({"properties": {"x": {"maximum": 2.0}}}, True),
    ({"properties": {"x": {"enum": [1, 2**60]}}}, False),
    ({"items": [{}]}, False),
    ({"uniqueItems": True}, False),
    ({"x-custom": 1}, False),
    ({"patternProperties": {"^\\d$": {}}}, False),
    ({"title": "t", "description": "d", "default": {"a": 0.5}, "examples": [1.5]}, True),
])
def test_the_values_schema_subset(schema: Any, inside: bool) -> None:
    assert (ValuesSchema.compile(schema) is not None) == inside


@pytest.mark.parametrize("pattern, portable", [
    ("^[a-z]([-a-z0-9]{0,52}[a-z0-9])?$", True),
    ("^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$", True),
    ("^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$", True),
    ("(?:ab)+|c{2}|d{1,}|e?", True),
    ("a.b", False), ("\\d", False), ("\\w", False), ("\\s", False), ("\\bx", False),
    ("(?i)x", False), ("(?=x)", False), ("(?P<n>x)", False), ("a*?", False), ("a++", False),
    ("a{2,1001}", False), ("a{3,2}", False), ("{1}", False), ("*a", False), ("a**", False),
    ("[]a]", False), ("[[:alpha:]]", False), ("[a-z&&b]", False), ("[a--b]", False),
    ("[~~]", False), ("[a-Z]", False), ("[0-z]", False), ("[z-a]", False), ("[a-z-0]", False),
    ("[]", False), ("[a", False), ("(a", False), ("a)", False), ("é", False), ("\\", False),
    ("\\n", False), ("\t", False), ("a\\-b", True), ("[\\]-]", True),
])
def test_portable_patterns(pattern: str, portable: bool) -> None:
    assert _portable_regex(pattern) == portable
