"""The fast build paths give what the reference path gives: one `kustomize build` per
overlay and one `helm template` process per chart source.

- the kustomize batch (gitops_gen/kustomize_batch.py), on this repository's customers,
  every example platform's, and overlays made to stress attribution;
- the in-process helm (gitops_gen/helm_inprocess.py), on the same customers, and on
  charts and options it must leave to the binary.

Compared as sorted canonical JSON: helm itself orders objects of one kind the way Go's
map iteration falls.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.argocd import applications, argocd_objects
from gitops_gen.build import BuildOptions, BuildStats, build_all
from gitops_gen.goyaml import GoYamlLoader, objects_of_value
from gitops_gen.kustomize_batch import build_overlays
from gitops_gen.model import BuildResult, Manifest
from gitops_gen.platform import load_platform
from gitops_gen.procs import run
from gitops_gen.toolchain import Toolchain, find_toolchain
from gitops_gen.tree import generated_files
from tests.conftest import REPO_ROOT
from tests.test_build import CHART, OVERLAY, _write_tree, application

KUBE = "1.37"
PLATFORMS = [REPO_ROOT, *sorted(p for p in (REPO_ROOT / "examples").iterdir()
                                if (p / "gitops-gen.yaml").is_file())]
REFERENCE = BuildOptions(batch_kustomize=False, in_process_helm=False)
Objects = list[dict[str, Any]]


@pytest.fixture(scope="module")
def tools() -> Toolchain:
    return find_toolchain({})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """test_build's chart and acme overlay."""
    _write_tree(tmp_path / "gitops" / "chart", CHART)
    _write_tree(tmp_path / "gitops" / "apps" / "customer-acme", OVERLAY)
    return tmp_path


def canonical(results: dict[str, BuildResult]) -> dict[str, list[str]]:
    return {name: sorted(json.dumps([m.source, m.obj], sort_keys=True) for m in r.manifests)
            + sorted(f"{f.file}:{f.line}:{f.rule}:{f.message}" for f in r.findings)
            for name, r in results.items()}


def platform_apps(root: Path) -> dict[str, list[Manifest]]:
    platform = load_platform(root)
    objects, _ = argocd_objects(root, generated_files(platform))
    return dict(applications(objects))


@pytest.mark.parametrize("root", PLATFORMS, ids=lambda p: p.name)
def test_fast_paths_equal_the_reference_on_real_platforms(root: Path) -> None:
    apps = platform_apps(root)
    assert apps
    tools = find_toolchain({})
    reference = build_all(root, apps, tools, KUBE, 2, REFERENCE)
    stats = BuildStats()
    fast = build_all(root, apps, tools, KUBE, 2, BuildOptions(stats=stats))
    assert canonical(fast) == canonical(reference)
    assert stats.built == stats.applications == sum(len(a) for a in apps.values())
    if len(apps) > 1:
        assert stats.batched_overlays >= 2
    assert stats.in_process_helm >= 1  # the first render of each chart is the binary's


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
    fast = build_all(tmp_path, apps, tools, KUBE, 2, BuildOptions(stats=stats))
    assert stats.batched_overlays == 0
    assert canonical(fast) == canonical(build_all(tmp_path, apps, tools, KUBE, 2, REFERENCE))
    assert [m.namespace for m in fast["b"].manifests] == ["b"]


# --- the in-process helm leaves to the binary what it cannot do the same ---------------


Canonical = dict[str, list[str]]


def build_both(repo_root: Path, tools: Toolchain,
               app: dict[str, Any]) -> tuple[BuildStats, Canonical, Canonical]:
    stats = BuildStats()
    apps = {"acme": app}
    fast = build_all(repo_root, apps, tools, KUBE, 1, BuildOptions(stats=stats))
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
    fast_all = build_all(repo, apps, tools, KUBE, 1, BuildOptions(stats=stats))
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
    fast = build_all(repo, apps, tools, KUBE, 1, BuildOptions(stats=stats))
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
    fast = canonical(build_all(repo, apps, tools, KUBE, 1, BuildOptions(stats=stats)))
    assert fast == canonical(build_all(repo, apps, tools, KUBE, 1, REFERENCE))
    assert any("values don't meet the specifications" in line for line in fast["globex"])
    assert stats.in_process_helm == 0
