"""SchemaStore on the real kubernetes-validate schemas and the repo's CRD schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gitops_gen.errors import InputError
from gitops_gen.k8s_schemas import (
    SchemaStore,
    available_versions,
    resolve_version,
    split_api_version,
    strict_crd_schema,
)
from gitops_gen.model import Manifest
from gitops_gen.validators.embedded import EmbeddedValidator

REPO_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


@pytest.fixture(scope="module")
def store() -> SchemaStore:
    return SchemaStore(None, [REPO_SCHEMAS])


def test_versions_are_sorted_and_the_default_is_the_newest() -> None:
    versions = available_versions()
    assert versions[0] == "1.25.0"
    assert "1.30.0" in versions
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))))
    assert SchemaStore(None, []).version == versions[-1]
    assert SchemaStore.available_versions() == versions


@pytest.mark.parametrize("asked", ["1.30", "1.30.0", "v1.30.0", " 1.30 "])
def test_version_spellings(asked: str) -> None:
    assert resolve_version(asked) == "1.30.0"


def test_unknown_version_lists_the_available_ones() -> None:
    with pytest.raises(InputError, match=r"'1\.99'.*available: 1\.25\.0, .*1\.37\.0"):
        SchemaStore("1.99", [])


def test_split_api_version() -> None:
    assert split_api_version("apps/v1") == ("apps", "v1")
    assert split_api_version("v1") == ("", "v1")
    assert split_api_version("networking.k8s.io/v1") == ("networking.k8s.io", "v1")


@pytest.mark.parametrize(("api_version", "kind"), [
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("v1", "Namespace"),
    ("networking.k8s.io/v1", "Ingress"),  # file named ingress-networking-v1.json
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
])
def test_kubernetes_kinds(store: SchemaStore, api_version: str, kind: str) -> None:
    schema = store.schema_for(api_version, kind)
    assert schema is not None
    group, version = split_api_version(api_version)
    assert {"group": group, "version": version, "kind": kind} in schema[
        "x-kubernetes-group-version-kind"]
    assert schema["additionalProperties"] is False  # the -strict flavour


@pytest.mark.parametrize(("api_version", "kind"), [
    ("networking.example.com/v1", "Ingress"),  # same first label as networking.k8s.io
    ("v1", "service"),  # kinds are case-sensitive
    ("apps/v1", "DeploymentSpec"),  # a type, not a kind
    ("v1", "../../etc/passwd"),
    ("../v1", "Deployment"),
    ("example.com/v1", "Widget"),
    ("", ""),
])
def test_no_schema(store: SchemaStore, api_version: str, kind: str) -> None:
    assert store.schema_for(api_version, kind) is None


def test_schemas_are_read_once(store: SchemaStore) -> None:
    assert store.schema_for("apps/v1", "Deployment") is store.schema_for("apps/v1", "Deployment")


def test_crd_schemas_come_from_the_platform_folder(store: SchemaStore) -> None:
    app = store.schema_for("argoproj.io/v1alpha1", "Application")
    project = store.schema_for("argoproj.io/v1alpha1", "AppProject")
    assert app is not None and project is not None
    assert store.schema_for("argoproj.io/v1beta1", "Application") is None
    assert SchemaStore(None, []).schema_for("argoproj.io/v1alpha1", "Application") is None


def test_crd_schemas_are_made_strict_at_load_time(store: SchemaStore) -> None:
    on_disk = json.loads((REPO_SCHEMAS / "argoproj.io/application_v1alpha1.json").read_text())
    assert "additionalProperties" not in on_disk  # the catalog leaves the root open
    app = store.schema_for("argoproj.io/v1alpha1", "Application")
    assert app is not None
    assert app["additionalProperties"] is False
    helm = app["properties"]["spec"]["properties"]["source"]["properties"]["helm"]
    values_object = helm["properties"]["valuesObject"]
    assert values_object.get("x-kubernetes-preserve-unknown-fields") is True
    assert "additionalProperties" not in values_object


def test_strict_crd_schema_walks_schemas_not_data() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {
                # a field *named* "properties", whose own schema has properties
                "properties": {"type": "object", "properties": {"a": {"type": "string"}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "properties": {"x": {}},
                         "x-kubernetes-preserve-unknown-fields": True},
                "list": {"type": "array", "items": {"properties": {"y": {}}}},
                "either": {"anyOf": [{"properties": {"z": {}}}]},
            }},
        },
    }
    strict = strict_crd_schema(schema)
    spec = strict["properties"]["spec"]
    fields = spec["properties"]
    assert strict["additionalProperties"] is False
    assert spec["additionalProperties"] is False
    assert fields["properties"]["additionalProperties"] is False
    assert "additionalProperties" not in fields  # the name map is not a schema
    assert fields["labels"]["additionalProperties"] == {"type": "string"}
    assert "additionalProperties" not in fields["free"]
    assert fields["list"]["items"]["additionalProperties"] is False
    assert fields["either"]["anyOf"][0]["additionalProperties"] is False
    assert set(strict["properties"]) == {"spec", "apiVersion", "kind", "metadata"}


def test_standalone_schemas_have_no_external_refs(store: SchemaStore) -> None:
    schema = store.standalone_schema_for("apps/v1", "Deployment")
    assert schema is not None
    text = json.dumps(schema)
    assert "_definitions.json" not in text and '"$ref"' not in text
    assert "$id" not in schema
    assert schema["properties"]["spec"]["properties"]["replicas"]["type"] == ["integer", "null"]


def test_recursive_definitions_stay_local(store: SchemaStore) -> None:
    # JSONSchemaProps contains itself: it is kept once under $defs and referenced locally.
    schema = store.standalone_schema_for("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    assert schema is not None
    refs = _refs(schema)
    assert refs and all(ref.startswith("#/$defs/") for ref in refs)
    assert {ref.removeprefix("#/$defs/") for ref in refs} <= set(schema["$defs"])


def test_standalone_and_registry_schemas_agree(store: SchemaStore) -> None:
    # The standalone copy (for kubeconform) must say what the $ref'd original says.
    crd = yaml.safe_load("""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer, colour: 1}}}
""")
    deployment = yaml.safe_load("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: "two"
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: 5, imagePullPolicy: Always}]}
""")
    for obj in (crd, deployment):
        standalone = store.standalone_schema_for(obj["apiVersion"], obj["kind"])
        assert standalone is not None
        from_standalone = sorted(
            (list(e.absolute_path), e.validator)
            for e in jsonschema.Draft202012Validator(standalone).iter_errors(obj))
        embedded = EmbeddedValidator(store)
        problems = embedded.problems(Manifest("acme", obj, "x.yaml"))
        assert problems is not None and from_standalone
        assert sorted(list(p.path) for p in problems) == [path for path, _ in from_standalone]


def test_cache_key_follows_crd_schema_content(tmp_path: Path) -> None:
    crd_file = tmp_path / "example.com" / "widget_v1.json"
    crd_file.parent.mkdir()
    crd_file.write_text('{"type": "object"}')
    before = SchemaStore("1.30", [tmp_path]).cache_key()
    assert before.startswith("v1.30.0-")
    assert SchemaStore("1.30", [tmp_path]).cache_key() == before
    crd_file.write_text('{"type": "object", "properties": {}}')
    assert SchemaStore("1.30", [tmp_path]).cache_key() != before
    assert SchemaStore("1.31", [tmp_path]).cache_key() != before


def test_unreadable_crd_schema_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "example.com" / "widget_v1.json"
    bad.parent.mkdir()
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"widget_v1\.json"):
        SchemaStore(None, [tmp_path]).schema_for("example.com/v1", "Widget")


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []
