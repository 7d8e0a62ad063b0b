"""Building Applications with the real helm and kustomize, on tiny repos made per test."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import yaml

from gitops_gen.build import GoYamlLoader, build_all, build_customer
from gitops_gen.model import BuildResult, Manifest
from gitops_gen.toolchain import Toolchain, find_toolchain
from tests.tinyrepo import OVERLAY, application, write_tree

KUBE_VERSION = "1.33"


def test_helm_source_uses_release_name_namespace_and_values_ref(
    repo: Path, tools: Toolchain
) -> None:
    result = build_customer(repo, "acme", application(), tools, KUBE_VERSION)
    assert result.findings == []
    config = _only(result, "ConfigMap")
    assert config.name == "acme-config"
    assert config.source == "gitops/chart/templates/configmap.yaml"
    assert config.obj["data"] == {
        "greeting": "hi from acme",  # from $values/gitops/apps/customer-acme/values.yaml
        "replicas": "1",  # from the chart's own values.yaml
        "namespace": "customer-acme",
        "kube": "v1.33",
    }
    # Argo CD applies namespaced objects into the destination namespace ...
    assert config.namespace == "customer-acme"
    # ... and leaves cluster-scoped ones alone.
    assert _only(result, "ClusterRole").namespace == ""


def test_kustomize_source_builds_the_overlay(repo: Path, tools: Toolchain) -> None:
    result = build_customer(repo, "acme", application(), tools, KUBE_VERSION)
    quota = _only(result, "ResourceQuota")
    assert quota.ident() == "ResourceQuota/customer-acme/quota"
    assert quota.source == "gitops/apps/customer-acme/kustomization.yaml"
    assert _only(result, "Namespace").ident() == "Namespace/customer-acme"
    assert sorted(m.kind for m in result.manifests) == [
        "ClusterRole", "ConfigMap", "Namespace", "ResourceQuota",
    ]  # fmt: skip


def test_values_object_and_parameters_win_over_value_files(repo: Path, tools: Toolchain) -> None:
    app = application(
        valuesObject={"greeting": "from valuesObject", "replicas": 3},
        parameters=[{"name": "replicas", "value": "5"}],
    )
    data = _only(build_customer(repo, "acme", app, tools, KUBE_VERSION), "ConfigMap").obj["data"]
    assert (data["greeting"], data["replicas"]) == ("from valuesObject", "5")


def test_single_source_application(repo: Path, tools: Toolchain) -> None:
    app = application()
    app["spec"]["source"] = {**app["spec"].pop("sources")[0], "helm": {"valueFiles": []}}
    result = build_customer(repo, "acme", app, tools, KUBE_VERSION)
    assert result.findings == []
    # Without helm.releaseName, Argo CD names the release after the Application.
    assert _only(result, "ConfigMap").name == "customer-acme-config"


def test_template_error_is_a_finding_on_the_template(repo: Path, tools: Toolchain) -> None:
    broken = repo / "gitops" / "chart" / "templates" / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: ConfigMap\ndata:\n  x: {{ .Values.no.such }}\n")
    result = build_customer(repo, "acme", application(), tools, KUBE_VERSION)
    [finding] = result.findings
    assert (finding.file, finding.line) == ("gitops/chart/templates/broken.yaml", 4)
    assert (finding.customer, finding.rule) == ("acme", "build")
    assert "nil pointer" in finding.message
    assert str(repo) not in finding.message
    # The kustomize source still built: one broken source does not hide the others.
    assert _only(result, "ResourceQuota")


def test_unparsable_value_file_is_a_finding_on_that_file(repo: Path, tools: Toolchain) -> None:
    (repo / "gitops" / "apps" / "customer-acme" / "values.yaml").write_text("a: 1\n b: 2\n")
    [finding] = build_customer(repo, "acme", application(), tools, KUBE_VERSION).findings
    assert (finding.file, finding.line) == ("gitops/apps/customer-acme/values.yaml", 2)


def test_kustomize_error_is_a_finding_on_the_overlay(repo: Path, tools: Toolchain) -> None:
    (repo / "gitops" / "apps" / "customer-acme" / "quota.yaml").unlink()
    [finding] = build_customer(repo, "acme", application(), tools, KUBE_VERSION).findings
    assert finding.file == "gitops/apps/customer-acme/kustomization.yaml"
    assert "quota.yaml" in finding.message


def test_missing_value_file_is_a_finding_on_the_application(repo: Path, tools: Toolchain) -> None:
    app = application(valueFiles=["$values/gitops/apps/customer-nobody/values.yaml"])
    [finding] = build_customer(repo, "acme", app, tools, KUBE_VERSION).findings
    assert finding.file == "gitops/argocd/customer-acme.yaml"
    assert "customer-nobody/values.yaml" in finding.message


def test_ref_to_another_repository_is_a_finding(repo: Path, tools: Toolchain) -> None:
    app = application()
    app["spec"]["sources"][2]["repoURL"] = "https://git.example.com/someone/else.git"
    messages = [f.message for f in build_customer(repo, "acme", app, tools, KUBE_VERSION).findings]
    assert any("is not this repository" in m for m in messages)
    assert any("no source has `ref: values`" in m for m in messages)


def test_value_file_outside_the_repository_is_refused(repo: Path, tools: Toolchain) -> None:
    app = application(valueFiles=["$values/../../etc/passwd"])
    [finding] = build_customer(repo, "acme", app, tools, KUBE_VERSION).findings
    assert "outside the repository" in finding.message


def test_list_documents_stand_for_their_items(repo: Path, tools: Toolchain) -> None:
    (repo / "gitops" / "chart" / "templates" / "list.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: List
        items:
          - {apiVersion: v1, kind: ServiceAccount, metadata: {name: a}}
          - {apiVersion: v1, kind: ServiceAccount, metadata: {name: b}}
        """)
    )
    result = build_customer(repo, "acme", application(), tools, KUBE_VERSION)
    accounts = [m for m in result.manifests if m.kind == "ServiceAccount"]
    assert [m.ident() for m in accounts] == [
        "ServiceAccount/customer-acme/a", "ServiceAccount/customer-acme/b",
    ]  # fmt: skip
    assert {m.source for m in accounts} == {"gitops/chart/templates/list.yaml"}


def test_build_all_returns_customers_in_sorted_order(repo: Path, tools: Toolchain) -> None:
    overlay = repo / "gitops" / "apps"
    for name in ("zeta", "beta"):
        write_tree(overlay / f"customer-{name}", _overlay_for(name))
    apps = {name: application(name) for name in ("zeta", "acme", "beta")}
    results = build_all(repo, apps, find_toolchain({}), KUBE_VERSION, jobs=3)
    assert list(results) == ["acme", "beta", "zeta"]
    assert all(r.findings == [] for r in results.values())
    assert _only(results["zeta"], "ConfigMap").ident() == "ConfigMap/customer-zeta/zeta-config"


def test_go_yaml_types() -> None:
    doc = yaml.load(
        "a: y\nb: 2024-01-01\nc: 1e3\nd: 1:30\ne: =\nf: NO\ng: 0x1F\nh: '1'\ni: 010\n",
        Loader=GoYamlLoader,
    )
    assert doc == {
        "a": True, "b": "2024-01-01", "c": 1000.0, "d": "1:30", "e": "=", "f": False,
        "g": 31, "h": "1", "i": 8,
    }  # fmt: skip


def _overlay_for(customer: str) -> dict[str, str]:
    overlay = copy.deepcopy(OVERLAY)
    for name, text in overlay.items():
        overlay[name] = text.replace("acme", customer)
    return overlay


def _only(result: BuildResult, kind: str) -> Manifest:
    [manifest] = [m for m in result.manifests if m.kind == kind]
    return manifest
