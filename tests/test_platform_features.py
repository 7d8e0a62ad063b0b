"""What the generator gained to express the example platforms, tested on its own: optional
fleet image and tiers, `extraNamespaces`, several Applications per customer."""

from __future__ import annotations

from pathlib import Path

import yaml

from gitops_gen.build import build_all
from gitops_gen.model import Manifest
from gitops_gen.policy import run_policy
from gitops_gen.toolchain import find_toolchain
from tests.conftest import cli, tree_state


def test_platform_without_fleet_image_or_tiers(tmp_path: Path) -> None:
    assert cli("init", "--template", "nickapp", "p", cwd=tmp_path).code == 0
    root = tmp_path / "p"
    assert cli("add", "demo", cwd=root).code == 0
    config = yaml.safe_load((root / "gitops-gen.yaml").read_text())
    assert "image" not in config and "tiers" not in config

    listed = cli("list", "--format", "json", cwd=root)
    assert listed.code == 0, listed.text
    assert yaml.safe_load(listed.out) == [{"NAME": "demo", "HOST": "demo.amn.gg", "TIER": "-",
                                           "TAG": "-", "PINNED": "no", "STATUS": "-"}]
    before = tree_state(root)
    bumped = cli("bump-image", "2.0.0", cwd=root)
    assert bumped.code == 2
    assert "gitops-gen.yaml has no `image:`" in bumped.err
    assert tree_state(root) == before


def test_tiers_need_a_default_tier(tmp_path: Path) -> None:
    assert cli("init", "p", cwd=tmp_path).code == 0
    config_file = tmp_path / "p/gitops-gen.yaml"
    config = yaml.safe_load(config_file.read_text())
    del config["defaults"]["tier"]
    config_file.write_text(yaml.safe_dump(config))
    result = cli("validate", cwd=tmp_path / "p")
    assert result.code == 2
    assert "defaults.tier: required when tiers are configured" in result.err


def _deployment(namespace: str) -> Manifest:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "db", "namespace": namespace}}
    return Manifest("acme", obj, "gitops/chart/templates/db.yaml")


def _data_namespace(customer: str) -> tuple[str, ...]:
    return (f"customer-{customer}-data",)


def test_extra_namespaces_belong_to_their_customer_only() -> None:
    fleet = {"acme": [_deployment("customer-acme"), _deployment("customer-acme-data")],
             "beta": []}
    rules = {"image-tag": False, "resources": False, "probes": False}
    assert run_policy(fleet, rules) != []  # without extraNamespaces: acme-data is foreign
    assert run_policy(fleet, rules, extra_namespaces=_data_namespace) == []

    fleet["acme"].append(_deployment("customer-beta-data"))
    [found] = run_policy(fleet, rules, extra_namespaces=_data_namespace)
    assert found.message == (
        'Deployment/customer-beta-data/db: is in namespace "customer-beta-data" of customer '
        '"beta", expected "customer-acme" or "customer-acme-data"')


def test_each_application_of_a_customer_is_built_and_named(tmp_path: Path) -> None:
    broken = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "spec": {}}
    apps = [Manifest("acme", {**broken, "metadata": {"name": f"acme-{region}"}},
                     f"gitops/argocd/customer-acme-{region}.yaml") for region in ("us", "eu")]
    [result] = build_all(tmp_path, {"acme": apps}, find_toolchain({}), "1.37", 2).values()
    assert [f.file for f in result.findings] == [
        "gitops/argocd/customer-acme-eu.yaml", "gitops/argocd/customer-acme-us.yaml"]
    assert {f.customer for f in result.findings} == {"acme"}
