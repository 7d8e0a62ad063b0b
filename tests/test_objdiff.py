"""objdiff on inline objects: matching, canonical dumps, and what counts as noise."""

from __future__ import annotations

from typing import Any

import yaml

from gitops_gen.model import Manifest
from gitops_gen.objdiff import canonical, diff_objects


def objects(text: str) -> list[Manifest]:
    return [Manifest("acme", doc, "x.yaml") for doc in yaml.safe_load_all(text)]


def summary(old: str, new: str, **kwargs: Any) -> list[tuple[str, str, str, str]]:
    diff = diff_objects("acme", objects(old), objects(new), **kwargs)
    return [(c.kind, c.namespace, c.name, c.change) for c in diff.changes]


CONFIG = """
apiVersion: v1
kind: ConfigMap
metadata: {{name: app-config-{suffix}, namespace: ns}}
data: {{greeting: {greeting}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app, namespace: ns}}
spec:
  template:
    spec:
      volumes: [{{name: config, configMap: {{name: app-config-{suffix}}}}}]
"""


def test_key_order_and_quoting_never_make_a_difference() -> None:
    old = "kind: ConfigMap\nmetadata: {name: a, namespace: ns}\ndata: {x: '1', y: b}\n"
    new = "data: {y: \"b\", x: \"1\"}\nmetadata: {namespace: ns, name: a}\nkind: ConfigMap\n"
    assert summary(old, new) == []
    assert canonical(yaml.safe_load(old)) == canonical(yaml.safe_load(new))


def test_objects_are_matched_by_kind_namespace_and_name() -> None:
    old = "kind: Service\nmetadata: {name: a, namespace: ns}\n---\n" \
          "kind: Service\nmetadata: {name: b, namespace: ns}\n"
    new = "kind: Service\nmetadata: {name: b, namespace: ns}\nspec: {type: ClusterIP}\n---\n" \
          "kind: Service\nmetadata: {name: c, namespace: ns}\n"
    assert summary(old, new) == [("Service", "ns", "a", "removed"),
                                 ("Service", "ns", "b", "changed"),
                                 ("Service", "ns", "c", "added")]
    changed = diff_objects("acme", objects(old), objects(new)).changes[1]
    assert changed.diff.splitlines()[:2] == ["--- a/Service/ns/b", "+++ b/Service/ns/b"]
    assert "+spec:" in changed.diff.splitlines()


def test_a_regenerated_configmap_is_one_changed_object_not_a_rename() -> None:
    old = CONFIG.format(suffix="7b5c9k2m4h", greeting="hello")
    new = CONFIG.format(suffix="8d6f2g4h5k", greeting="hi")
    diff = diff_objects("acme", objects(old), objects(new))
    assert [(c.kind, c.name, c.change) for c in diff.changes] == [
        ("ConfigMap", "app-config", "changed")]
    lines = diff.changes[0].diff.splitlines()
    assert [ln for ln in lines if ln[:1] in "+-" and ln[:3] not in ("---", "+++")] == [
        "-  greeting: hello", "+  greeting: hi"]
    assert diff.noise_only == 1  # the Deployment differs only in the hashed name
    assert summary(old, new, ignore_noise=False) == [
        ("ConfigMap", "ns", "app-config-7b5c9k2m4h", "removed"),
        ("ConfigMap", "ns", "app-config-8d6f2g4h5k", "added"),
        ("Deployment", "ns", "app", "changed")]


def test_a_name_that_is_not_a_kustomize_hash_is_kept() -> None:
    # "a" and "e" never occur in kustomize's hash alphabet
    old = CONFIG.format(suffix="aaaaaaaaaa", greeting="hello")
    new = CONFIG.format(suffix="eeeeeeeeee", greeting="hello")
    assert [c for *_, c in summary(old, new)] == ["removed", "added", "changed"]


def test_chart_labels_and_checksums_are_noise_elsewhere_labels_are_not() -> None:
    old = """
kind: Deployment
metadata:
  name: app
  namespace: ns
  labels: {helm.sh/chart: app-0.1.0, app.kubernetes.io/version: "1.0", team: web}
spec:
  selector: {matchLabels: {app.kubernetes.io/version: "1.0"}}
  template:
    metadata:
      labels: {helm.sh/chart: app-0.1.0}
      annotations: {checksum/config: abc}
"""
    new = old.replace("app-0.1.0", "app-0.2.0").replace("checksum/config: abc",
                                                         "checksum/config: def")
    diff = diff_objects("acme", objects(old), objects(new))
    assert (diff.changes, diff.noise_only) == ([], 1)
    assert summary(old, new, ignore_noise=False) == [("Deployment", "ns", "app", "changed")]
    # A selector is no label set of metadata: changing it is real (and immutable!).
    selector = old.replace('matchLabels: {app.kubernetes.io/version: "1.0"}',
                           'matchLabels: {app.kubernetes.io/version: "2.0"}')
    assert summary(old, selector) == [("Deployment", "ns", "app", "changed")]


def test_two_objects_with_one_key_are_both_diffed() -> None:
    old = "kind: Service\nmetadata: {name: a, namespace: ns}\n"
    new = old + "---\n" + old.replace("ns}", "ns}\nspec: {}")
    assert summary(old, new) == [("Service", "ns", "a#2", "added")]
