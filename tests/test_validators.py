"""Schema validation backends on inline YAML objects and the real schemas.

kubeconform is not installed here. Its side is tested three ways: the JSON-record parser
on records copied from kubeconform's own docs and tests; a stand-in `kubeconform` script
that runs the real wrapper end to end (schema files, object files, flags, exit code 1);
and, only where a real kubeconform is on PATH, the real thing (marked below).
"""

from __future__ import annotations

import json
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.errors import InputError
from gitops_gen.k8s_schemas import SchemaStore
from gitops_gen.model import Finding, Manifest
from gitops_gen.validators import BACKEND_BY_NAME, SchemaValidator, select_backend
from gitops_gen.validators import problems as p
from gitops_gen.validators.embedded import EmbeddedValidator
from gitops_gen.validators.kubeconform import (
    Cause,
    KubeconformValidator,
    Record,
    parse_records,
    pointer_path,
    problems_from_message,
    problems_from_record,
    schema_file,
)

REPO_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
SOURCE = "gitops/chart/templates/deployment.yaml"

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: customer-acme, labels: {app.kubernetes.io/name: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.2.3
        ports: [{containerPort: 8080, protocol: TCP}]
"""

# The multi-source Application of docs/architecture.md, with what the generator adds.
APPLICATION = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: customer-acme
  namespace: argocd
  labels: {gitops-gen/customer: acme}
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: customers
  destination: {server: https://kubernetes.default.svc, namespace: customer-acme}
  sources:
  - repoURL: https://git.example.com/platform/gitops.git
    targetRevision: main
    path: gitops/chart
    helm:
      releaseName: acme
      valueFiles: [$values/gitops/apps/customer-acme/values.yaml]
  - {repoURL: https://git.example.com/platform/gitops.git, targetRevision: main,
     path: gitops/apps/customer-acme}
  - {repoURL: https://git.example.com/platform/gitops.git, targetRevision: main, ref: values}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true, ServerSideApply=true]
"""


@pytest.fixture(scope="module")
def store() -> SchemaStore:
    return SchemaStore(None, [REPO_SCHEMAS])


@pytest.fixture(scope="module")
def embedded(store: SchemaStore) -> EmbeddedValidator:
    return EmbeddedValidator(store)


def obj(doc: str, **changes: Any) -> dict[str, Any]:
    """Parse `doc`, then set dotted paths: obj(DEPLOYMENT, **{"spec.replicas": "two"})."""
    data: dict[str, Any] = yaml.safe_load(doc)
    for dotted_path, value in changes.items():
        *parents, last = dotted_path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return data


def manifest(data: dict[str, Any], source: str = SOURCE) -> Manifest:
    return Manifest(customer="acme", obj=data, source=source)


def finding(message: str, rule: str = "schema", source: str = SOURCE) -> Finding:
    return Finding(file=source, line=None, customer="acme", rule=rule, message=message)


# --- embedded backend -------------------------------------------------------------------


def test_valid_deployment_has_no_findings(embedded: EmbeddedValidator) -> None:
    assert embedded.validate([manifest(obj(DEPLOYMENT))]) == []


def test_wrong_type(embedded: EmbeddedValidator) -> None:
    found = embedded.validate([manifest(obj(DEPLOYMENT, **{"spec.replicas": "two"}))])
    assert found == [finding("Deployment/customer-acme/web: spec.replicas: "
                             "expected integer, got string")]


def test_unknown_field(embedded: EmbeddedValidator) -> None:
    found = embedded.validate([manifest(obj(DEPLOYMENT, **{"spec.replica": 3}))])
    assert found == [finding('Deployment/customer-acme/web: spec: unknown field "replica"')]


def test_missing_field_and_list_paths(embedded: EmbeddedValidator) -> None:
    data = obj(DEPLOYMENT)
    data["spec"]["template"]["spec"]["containers"].append({"image": 5})
    assert embedded.validate([manifest(data)]) == [
        finding("Deployment/customer-acme/web: spec.template.spec.containers[1].image: "
                "expected string, got number"),
        finding("Deployment/customer-acme/web: spec.template.spec.containers[1]: "
                'missing required field "name"'),
    ]


def test_every_problem_is_reported_sorted(embedded: EmbeddedValidator) -> None:
    data = obj(DEPLOYMENT, **{"spec.replicas": "two", "spec.paused": "no", "spce": {}})
    messages = [f.message for f in embedded.validate([manifest(data)])]
    assert messages == sorted(messages)
    assert messages == [
        'Deployment/customer-acme/web: <root>: unknown field "spce"',
        "Deployment/customer-acme/web: spec.paused: expected boolean, got string",
        "Deployment/customer-acme/web: spec.replicas: expected integer, got string",
    ]


def test_int_or_string_forms(embedded: EmbeddedValidator) -> None:
    service = obj("""
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80, targetPort: true}]}
""")
    assert embedded.validate([manifest(service)]) == [
        finding("Service/web: spec.ports[0].targetPort: matches none of the allowed forms")]


# A CRD schema with the keywords the Kubernetes schemas hardly use.
WIDGET_SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "string", "enum": ["small", "large"]},
            "name": {"type": "string", "pattern": "^[a-z]+$"},
            "mode": {"const": "fast"},
        }},
    },
}


@pytest.fixture
def widget_dir(tmp_path: Path) -> Path:
    crd_dir = tmp_path / "schemas"
    (crd_dir / "example.com").mkdir(parents=True)
    (crd_dir / "example.com" / "widget_v1.json").write_text(json.dumps(WIDGET_SCHEMA))
    return crd_dir


def widget(**spec: Any) -> Manifest:
    return manifest({"apiVersion": "example.com/v1", "kind": "Widget",
                     "metadata": {"name": "w"}, "spec": spec})


def test_value_not_allowed_and_pattern(widget_dir: Path) -> None:
    backend = EmbeddedValidator(SchemaStore(None, [widget_dir]))
    assert backend.validate([widget(size="small", name="abc", mode="fast")]) == []
    found = backend.validate([widget(size="huge", name="A1", mode="slow")])
    assert [f.message for f in found] == [
        "Widget/w: spec.mode: value not allowed",
        'Widget/w: spec.name: does not match pattern "^[a-z]+$"',
        "Widget/w: spec.size: value not allowed",
    ]


def test_yaml_timestamps_are_strings_as_in_kubernetes(embedded: EmbeddedValidator) -> None:
    # PyYAML reads an unquoted 2024-01-01 as a date; Go's YAML (and so the API server)
    # as the string it is, which an annotation may hold.
    data = obj(DEPLOYMENT)
    data["metadata"]["annotations"] = yaml.safe_load("{released: 2024-01-01}")
    assert embedded.validate([manifest(data)]) == []


def test_unknown_kind(embedded: EmbeddedValidator) -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    [found] = embedded.validate([manifest(widget)])
    assert found.rule == "schema/unknown-kind"
    assert found.message.startswith("Widget/w: no schema for apiVersion 'example.com/v1' "
                                    "kind 'Widget' in Kubernetes ")


@pytest.mark.parametrize("skip", ["Widget", "example.com/v1/Widget"])
def test_skip_kinds(store: SchemaStore, skip: str) -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"anything": True}}
    assert EmbeddedValidator(store, [skip]).validate([manifest(widget)]) == []
    other_version = dict(widget, apiVersion="example.com/v2")
    expected = [] if skip == "Widget" else ["schema/unknown-kind"]
    found = EmbeddedValidator(store, [skip]).validate([manifest(other_version)])
    assert [f.rule for f in found] == expected


def test_skip_kinds_also_skips_known_kinds(store: SchemaStore) -> None:
    broken = obj(DEPLOYMENT, **{"spec.replicas": "two"})
    assert EmbeddedValidator(store, ["Deployment"]).validate([manifest(broken)]) == []


def test_application_crd_valid(embedded: EmbeddedValidator) -> None:
    assert embedded.validate([manifest(obj(APPLICATION), "gitops/argocd/acme.yaml")]) == []


def test_app_project_crd_valid(embedded: EmbeddedValidator) -> None:
    project = obj("""
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: customers, namespace: argocd}
spec:
  sourceRepos: [https://git.example.com/platform/gitops.git]
  destinations: [{server: https://kubernetes.default.svc, namespace: customer-*}]
  clusterResourceWhitelist: [{group: "", kind: Namespace}]
""")
    assert embedded.validate([manifest(project, "gitops/argocd/project.yaml")]) == []


def test_application_crd_invalid(embedded: EmbeddedValidator) -> None:
    data = obj(APPLICATION, **{"spec.syncPolicy.automated.prune": "yes",
                               "spec.sources.0.helm.valueFile": ["x"], "spce": {}})
    del data["spec"]["project"]
    found = embedded.validate([manifest(data, "gitops/argocd/acme.yaml")])
    ident = "Application/argocd/customer-acme"
    assert [f.message for f in found] == [
        f'{ident}: <root>: unknown field "spce"',
        f'{ident}: spec.sources[0].helm: unknown field "valueFile"',
        f"{ident}: spec.syncPolicy.automated.prune: expected boolean, got string",
        f'{ident}: spec: missing required field "project"',
    ]


def test_paths_quote_keys_that_are_not_identifiers() -> None:
    assert p.dotted(()) == "<root>"
    assert p.dotted(("metadata", "labels", "app.kubernetes.io/name")) == (
        'metadata.labels["app.kubernetes.io/name"]')
    assert p.dotted(("spec", "containers", 0, "image")) == "spec.containers[0].image"


# --- backend selection ------------------------------------------------------------------


def test_registry_names() -> None:
    assert set(BACKEND_BY_NAME) == {"embedded", "kubeconform"}


def test_auto_without_kubeconform_is_embedded(store: SchemaStore, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    backend: SchemaValidator = select_backend("auto", store, [])
    assert backend.name == "embedded"
    assert select_backend("embedded", store, []).name == "embedded"


def test_kubeconform_asked_for_but_missing(store: SchemaStore, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError, match=r"not on PATH\. It is not packaged on PyPI, npm or "
                                         r"Debian.*github\.com/yannh/kubeconform/releases"):
        select_backend("kubeconform", store, [])


def test_auto_with_kubeconform_on_path(store: SchemaStore, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_kubeconform(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert select_backend("auto", store, []).name == "kubeconform"


def test_unknown_backend(store: SchemaStore) -> None:
    with pytest.raises(InputError, match="unknown validation backend 'fast'"):
        select_backend("fast", store, [])  # type: ignore[arg-type]


# --- kubeconform records ----------------------------------------------------------------


def test_parse_record_from_kubeconform_json_test() -> None:
    # kubeconform pkg/output/json_test.go, "a single invalid deployment, verbose, with
    # summary" (the path and msg there are placeholders).
    stdout = """{
  "resources": [
    {
      "filename": "deployment.yml",
      "kind": "Deployment",
      "name": "my-app",
      "version": "apps/v1",
      "status": "statusInvalid",
      "msg": "bar",
      "validationErrors": [
        {
          "path": "foo",
          "msg": "bar"
        }
      ]
    }
  ],
  "summary": {
    "valid": 0,
    "invalid": 1,
    "errors": 0,
    "skipped": 0
  }
}
"""
    assert parse_records(stdout) == [
        Record(filename="deployment.yml", status="statusInvalid", msg="bar",
               causes=(Cause(pointer="foo", msg="bar"),)),
    ]


def test_parse_empty_report() -> None:
    # kubeconform pkg/output/json_test.go, "a single deployment, no summary, no verbose".
    assert parse_records('{\n  "resources": []\n}\n') == []


def test_garbage_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no JSON report"):
        parse_records("panic: runtime error")


# Messages as kubeconform prints them, with where they were copied from.
KUBECONFORM_MESSAGES = [
    # pkg/validator/validator_test.go TestValidationErrors (jsonschema v5)
    ("", "missing properties: 'lastName'", 'missing required field "lastName"'),
    ("/age", "expected integer, but got string", "expected integer, got string"),
    # krm-functions/catalog docs/kubeconform.md (kubeconform output)
    ("/data/nested", "expected string or null, but got object", "expected string, got object"),
    ("/spec", "additionalProperties 'xXXsecretStoreRef' not allowed",
     'unknown field "xXXsecretStoreRef"'),
    ("/spec", "missing properties: 'gatewayClassName'",
     'missing required field "gatewayClassName"'),
    # yannh/kubeconform PR #173 (JSON output example)
    ("/spec/replicas", "expected integer or null, but got string",
     "expected integer, got string"),
    # santhosh-tekuri/jsonschema issue #211: kubeconform on jsonschema v6
    ("/firstName", "got string, want number", "expected number, got string"),
    # santhosh-tekuri/jsonschema v5 schema.go / v6 kind.go message formats
    ("/spec", "additional properties 'a', 'b' not allowed", 'unknown field "a"'),
    ("/kind", 'value must be one of "Deployment", "StatefulSet"', "value not allowed"),
    ("/kind", "value must be 'Deployment'", "value not allowed"),
    ("/metadata/name", "does not match pattern '^[a-z]+$'", 'does not match pattern "^[a-z]+$"'),
    ("/metadata/name", "'Web' does not match pattern '^[a-z]+$'",
     'does not match pattern "^[a-z]+$"'),
    ("/spec/ports/0/targetPort", "oneOf failed", "matches none of the allowed forms"),
    ("/spec/ports/0/targetPort", "oneOf failed, none matched", "matches none of the allowed forms"),
    ("/spec", "minimum 1 properties allowed, but found 0 properties",
     "invalid: minimum 1 properties allowed, but found 0 properties"),
]


@pytest.mark.parametrize(("pointer", "msg", "expected"), KUBECONFORM_MESSAGES)
def test_kubeconform_messages(pointer: str, msg: str, expected: str) -> None:
    instance = {"age": "x", "data": {"nested": {}}, "spec": {"replicas": "two"},
                "firstName": "x", "metadata": {"name": "Web"}}
    found = problems_from_message(pointer_path(pointer, instance), msg, instance)
    assert found[0].text == expected


def test_several_fields_in_one_message() -> None:
    found = problems_from_message(("spec",), "missing properties: 'a', 'b\\'c'", {})
    assert found == [p.missing_field(("spec",), "a"), p.missing_field(("spec",), "b'c")]


def test_pointer_paths_follow_the_object() -> None:
    instance = {"spec": {"containers": [{"image": "x"}]},
                "metadata": {"labels": {"0": "a", "app.kubernetes.io/name": "b"}}}
    assert pointer_path("/spec/containers/0/image", instance) == ("spec", "containers", 0, "image")
    assert pointer_path("/metadata/labels/0", instance) == ("metadata", "labels", "0")
    assert pointer_path("/metadata/labels/app.kubernetes.io~1name", instance) == (
        "metadata", "labels", "app.kubernetes.io/name")
    assert pointer_path("", instance) == ()


def test_error_records_become_invalid_findings() -> None:
    # README: "could not find schema for CustomResourceDefinition" is a statusError.
    record = Record("x/0.json", "statusError", "could not find schema for Widget", ())
    assert problems_from_record(record, {}) == [
        p.invalid((), "could not find schema for Widget")]
    assert problems_from_record(Record("x/0.json", "statusSkipped", "", ()), {}) == []


def test_group_causes_are_detailed_in_process() -> None:
    record = Record("x/0.json", "statusInvalid", "...", (Cause("/spec", ""),))
    detail = [p.unknown_field(("spec",), "a"), p.unknown_field(("metadata",), "b")]
    assert problems_from_record(record, {"spec": {}}, lambda: detail) == [detail[0]]


@pytest.mark.parametrize(("data", "pointer", "msg"), [
    (obj(DEPLOYMENT, **{"spec.replicas": "two"}),
     "/spec/replicas", "expected integer or null, but got string"),
    (obj(DEPLOYMENT, **{"spec.replica": 3}), "/spec", "additionalProperties 'replica' not allowed"),
    (obj(DEPLOYMENT, **{"spec.template.spec.containers.0.image": 5}),
     "/spec/template/spec/containers/0/image", "expected string or null, but got number"),
    (obj(DEPLOYMENT, **{"spec.template.spec.containers.0.name": None}),
     "/spec/template/spec/containers/0", "missing properties: 'name'"),
])
def test_same_problem_same_finding_from_both_normalisers(
        embedded: EmbeddedValidator, data: dict[str, Any], pointer: str, msg: str) -> None:
    if data["spec"]["template"]["spec"]["containers"][0].get("name", "") is None:
        del data["spec"]["template"]["spec"]["containers"][0]["name"]
    m = manifest(data)
    record = Record("tmp/0.json", "statusInvalid", msg, (Cause(pointer, msg),))
    via_kubeconform = p.findings_for(m, problems_from_record(record, data))
    assert via_kubeconform == embedded.validate([m])
    assert len(via_kubeconform) == 1


# --- the kubeconform wrapper, end to end with a stand-in --------------------------------

# Behaves like kubeconform v0.6 (jsonschema v5) for what the wrapper relies on: finds each
# schema through the -schema-location template, validates each object file in the folder
# (python-jsonschema here), prints `-output json` records with v5 messages, and reports
# only the top-level causes (a subtree with several errors is one cause with an empty
# message), exiting 1 when something is invalid.
FAKE_KUBECONFORM = r'''
import json, pathlib, sys
from jsonschema import Draft202012Validator

args = sys.argv[1:]
assert {"-strict", "-output", "json", "-summary=false", "-n"} <= set(args), args
template = args[args.index("-schema-location") + 1]


def go_type(value):
    if value is None: return "null"
    if isinstance(value, bool): return "boolean"
    if isinstance(value, (int, float)): return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def v5_message(error):
    if error.validator == "additionalProperties":
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        return "additionalProperties " + ", ".join(f"'{k}'" for k in extra) + " not allowed"
    if error.validator == "required":
        return "missing properties: '" + error.message.split("'")[1] + "'"
    if error.validator == "type":
        want = error.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        return f"expected {want}, but got {go_type(error.instance)}"
    if error.validator in ("oneOf", "anyOf"):
        return error.validator + " failed"
    if error.validator == "enum":
        return "value must be one of " + ", ".join(json.dumps(v) for v in error.validator_value)
    if error.validator == "const":
        return "value must be " + json.dumps(error.validator_value)
    if error.validator == "pattern":
        return "does not match pattern '" + error.validator_value + "'"
    return error.message


def tree(errors, depth):
    own = [e for e in errors if len(e[0]) == depth]
    groups = {}
    for e in errors:
        if len(e[0]) > depth:
            groups.setdefault(e[0][depth], []).append(e)
    items = own + [tree(g, depth + 1) for g in groups.values()]
    if len(items) == 1:
        return items[0]
    prefix = errors[0][0][:depth]
    return (prefix, "", items)


def pointer(path):
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


resources, invalid = [], False
for path in sorted(pathlib.Path(args[-1]).glob("*.json"), key=lambda f: int(f.stem)):
    obj = json.loads(path.read_text())
    group, version = obj["apiVersion"].split("/")[0], obj["apiVersion"].split("/")[-1]
    schema_path = (template.replace("{{ .Group }}", group)
                   .replace("{{ .ResourceKind }}", obj["kind"].lower())
                   .replace("{{ .ResourceAPIVersion }}", version))
    schema = json.loads(pathlib.Path(schema_path).read_text())
    errors = [(list(e.absolute_path), v5_message(e), None)
              for e in Draft202012Validator(schema).iter_errors(obj)]
    if not errors:
        continue
    root = tree(errors, 0)
    causes = root[2] if root[1] == "" and root[2] else [root]
    resources.append({
        "filename": str(path), "kind": obj["kind"], "name": obj["metadata"]["name"],
        "version": obj["apiVersion"], "status": "statusInvalid", "msg": "...",
        "validationErrors": [{"path": pointer(c[0]), "msg": c[1]} for c in causes],
    })
    invalid = True
print(json.dumps({"resources": resources}, indent=2))
sys.exit(1 if invalid else 0)
'''


def install_fake_kubeconform(bin_dir: Path, body: str = FAKE_KUBECONFORM) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "kubeconform"
    exe.write_text(f"#!{sys.executable}\n{body}")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def broken_objects() -> list[Manifest]:
    # three problems under spec and one at the root: kubeconform reports spec as one group
    several = obj(DEPLOYMENT, **{"spec.replicas": "two", "spec.paused": "no",
                                 "spec.template.spec.containers.0.image": 5, "spce": 1})
    several["metadata"]["name"] = "several"
    app = obj(APPLICATION, **{"spec.syncPolicy.automated.prune": "yes", "spce": {}})
    return [
        manifest(obj(DEPLOYMENT)),
        manifest(obj(DEPLOYMENT, **{"spec.replicas": "two"})),
        manifest(several),
        manifest(app, "gitops/argocd/acme.yaml"),
        manifest({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
        manifest(obj("""
apiVersion: v1
kind: Service
metadata: {name: web, namespace: customer-acme}
spec: {ports: [{port: 80, targetPort: true}], typo: 1}
""")),
    ]


def test_kubeconform_wrapper_gives_the_embedded_findings(
        store: SchemaStore, embedded: EmbeddedValidator, tmp_path: Path) -> None:
    exe = install_fake_kubeconform(tmp_path / "bin")
    backend = KubeconformValidator(store, executable=str(exe), cache_dir=tmp_path / "cache")
    objects = broken_objects()
    found = backend.validate(objects)
    assert found == embedded.validate(objects)
    assert len(found) == 10
    assert 'Deployment/customer-acme/several: spec.paused: expected boolean, got string' in [
        f.message for f in found]
    # schemas were written where the -schema-location template looks, refs inlined
    written = schema_file(backend.schema_dir, "apps/v1", "Deployment")
    assert written == tmp_path / "cache" / "kubeconform-schemas" / store.cache_key() / (
        "apps/deployment_v1.json")
    assert "$ref" not in written.read_text()
    assert schema_file(backend.schema_dir, "v1", "Service").is_file()


def test_kubeconform_wrapper_crd_keywords(widget_dir: Path, tmp_path: Path) -> None:
    store = SchemaStore(None, [widget_dir])
    exe = install_fake_kubeconform(tmp_path / "bin")
    backend = KubeconformValidator(store, executable=str(exe), cache_dir=tmp_path / "cache")
    objects = [widget(size="huge", name="A1", mode="slow"), widget(name="abc")]
    found = backend.validate(objects)
    assert found == EmbeddedValidator(store).validate(objects)
    assert len(found) == 4


def test_kubeconform_wrapper_honours_skip_kinds(store: SchemaStore, tmp_path: Path) -> None:
    exe = install_fake_kubeconform(tmp_path / "bin")
    backend = KubeconformValidator(store, ["Deployment", "Widget"], executable=str(exe),
                                   cache_dir=tmp_path / "cache")
    found = backend.validate(broken_objects())
    assert {f.message.split(":")[0] for f in found} == {
        "Application/argocd/customer-acme", "Service/customer-acme/web"}


def test_kubeconform_crash_is_an_input_error(store: SchemaStore, tmp_path: Path) -> None:
    exe = install_fake_kubeconform(
        tmp_path / "bin", "import sys\nsys.stderr.write('flag provided but not defined')\n"
                          "sys.exit(2)\n")
    backend = KubeconformValidator(store, executable=str(exe), cache_dir=tmp_path / "cache")
    with pytest.raises(InputError, match="exited 2:\nflag provided but not defined"):
        backend.validate([manifest(obj(DEPLOYMENT))])


def test_nothing_to_check_runs_nothing(store: SchemaStore, tmp_path: Path) -> None:
    backend = KubeconformValidator(store, executable=str(tmp_path / "absent"),
                                   cache_dir=tmp_path / "cache")
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert [f.rule for f in backend.validate([manifest(widget)])] == ["schema/unknown-kind"]


# --- real kubeconform: runs only where it is installed ----------------------------------

needs_kubeconform = pytest.mark.skipif(
    shutil.which("kubeconform") is None,
    reason="real kubeconform not on PATH (not on PyPI/npm/Debian; release binary from "
           "github.com/yannh/kubeconform)")


@needs_kubeconform
def test_real_kubeconform_agrees_with_embedded(
        store: SchemaStore, embedded: EmbeddedValidator, tmp_path: Path) -> None:
    backend = KubeconformValidator(store, cache_dir=tmp_path / "cache")
    objects = broken_objects()
    assert backend.validate(objects) == embedded.validate(objects)


@needs_kubeconform
def test_real_kubeconform_valid_objects(store: SchemaStore, tmp_path: Path) -> None:
    backend = KubeconformValidator(store, cache_dir=tmp_path / "cache")
    objects = [manifest(obj(DEPLOYMENT)), manifest(obj(APPLICATION), "gitops/argocd/acme.yaml")]
    assert backend.validate(objects) == []
