"""Policy rules on inline YAML objects: each rule broken once, and a good tree passes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
import yaml

from gitops_gen.errors import InputError
from gitops_gen.model import Finding, Manifest
from gitops_gen.policy import RULES, run_policy

SOURCE = "gitops/chart/templates/app.yaml"

GOOD_CONTAINER = """
name: app
image: registry.example.com/app:1.2.3
resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: "1", memory: 256Mi}}
livenessProbe: {httpGet: {path: /healthz, port: 8080}}
readinessProbe: {httpGet: {path: /ready, port: 8080}}
"""


def container(**changes: object) -> dict[str, object]:
    """The good container, with fields replaced (or removed, when set to None)."""
    spec: dict[str, object] = yaml.safe_load(GOOD_CONTAINER)
    spec.update(changes)
    return {k: v for k, v in spec.items() if v is not None}


def deployment(*containers: Mapping[str, object], kind: str = "Deployment") -> str:
    pod = {"containers": list(containers or [container()])}
    spec = {"template": {"spec": pod}}
    obj = {"apiVersion": "apps/v1", "kind": kind, "spec": spec}
    obj["metadata"] = {"name": "web", "namespace": "customer-acme"}
    return yaml.safe_dump(obj)


def manifest(doc: str, customer: str = "acme") -> Manifest:
    return Manifest(customer=customer, obj=yaml.safe_load(doc), source=SOURCE)


def check(doc: str, **enabled: bool) -> list[Finding]:
    return run_policy({"acme": [manifest(doc)]}, enabled=_ids(enabled))


def _ids(enabled: Mapping[str, bool]) -> dict[str, bool]:
    return {rule_id.replace("_", "-"): on for rule_id, on in enabled.items()}


def messages(findings: Sequence[Finding]) -> list[str]:
    return [f"{f.rule}: {f.message}" for f in findings]


# --- a good object -----------------------------------------------------------------------


def test_good_deployment_passes_every_rule() -> None:
    assert check(deployment()) == []


def test_finding_carries_source_customer_and_no_line() -> None:
    [found] = check(deployment(container(image="nginx:latest")))
    assert found == Finding(
        file=SOURCE,
        line=None,
        customer="acme",
        rule="policy/image-tag",
        message='Deployment/customer-acme/web: container "app" image "nginx:latest" '
        'uses the "latest" tag',
    )


# --- image-tag ---------------------------------------------------------------------------

DIGEST = "sha256:" + "0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31"


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("nginx:latest", 'uses the "latest" tag'),
        ("nginx", 'has no tag (Kubernetes would pull "latest")'),
        ("nginx:", "has an empty tag"),
        ("registry:5000/app", 'has no tag (Kubernetes would pull "latest")'),
        ("registry:5000/app:latest", 'uses the "latest" tag'),
        ("nginx@sha256:abc", "has a malformed digest (want sha256:<64 hex digits>)"),
    ],
)
def test_image_tag_unpinned(image: str, problem: str) -> None:
    found = check(deployment(container(image=image)))
    ident = 'Deployment/customer-acme/web: container "app"'
    assert messages(found) == [f'policy/image-tag: {ident} image "{image}" {problem}']


def test_image_missing() -> None:
    found = check(deployment(container(image="")))
    assert messages(found) == [
        'policy/image-tag: Deployment/customer-acme/web: container "app" has no image'
    ]


@pytest.mark.parametrize(
    "image",
    ["nginx:1.27.2", "registry:5000/app:v3", f"nginx@{DIGEST}", f"nginx:latest@{DIGEST}"],
)
def test_image_tag_pinned(image: str) -> None:
    assert check(deployment(container(image=image))) == []


def test_image_tag_checks_init_containers_and_cronjobs() -> None:
    doc = """
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: nightly, namespace: customer-acme}
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              initContainers: [{name: wait, image: busybox}]
              containers: [{name: job, image: "app:1.0"}]
    """
    found = check(doc, resources=False)
    assert messages(found) == [
        'policy/image-tag: CronJob/customer-acme/nightly: initContainer "wait" image "busybox" '
        'has no tag (Kubernetes would pull "latest")'
    ]


# --- resources ---------------------------------------------------------------------------


def test_resources_missing() -> None:
    resources = {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}
    found = check(deployment(container(resources=resources)))
    assert messages(found) == [
        'policy/resources: Deployment/customer-acme/web: container "app" does not set '
        "resources.requests.memory, resources.limits.memory"
    ]


def test_resources_of_init_container() -> None:
    init = {"name": "migrate", "image": "app:1.0"}
    doc = yaml.safe_load(deployment())
    doc["spec"]["template"]["spec"]["initContainers"] = [init]
    found = check(yaml.safe_dump(doc))
    assert messages(found) == [
        'policy/resources: Deployment/customer-acme/web: initContainer "migrate" does not set '
        "resources.requests.cpu, resources.requests.memory, resources.limits.cpu, "
        "resources.limits.memory"
    ]


# --- probes ------------------------------------------------------------------------------


def test_probes_missing() -> None:
    found = check(deployment(container(readinessProbe=None)))
    assert messages(found) == [
        'policy/probes: Deployment/customer-acme/web: container "app" has no readinessProbe'
    ]


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
def test_probes_of_long_running_kinds(kind: str) -> None:
    found = check(deployment(container(livenessProbe=None, readinessProbe=None), kind=kind))
    assert messages(found) == [
        f'policy/probes: {kind}/customer-acme/web: container "app" has no livenessProbe or '
        "readinessProbe"
    ]


def test_probes_not_required_for_jobs_and_init_containers() -> None:
    bare = container(livenessProbe=None, readinessProbe=None)
    job = yaml.safe_load(deployment(bare, kind="Job"))
    job["apiVersion"] = "batch/v1"
    assert check(yaml.safe_dump(job)) == []
    doc = yaml.safe_load(deployment())
    doc["spec"]["template"]["spec"]["initContainers"] = [bare]
    assert check(yaml.safe_dump(doc)) == []


# --- secret-data -------------------------------------------------------------------------

SECRET = """
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: customer-acme}
data: {password: aHVudGVyMg==}
stringData: {user: admin-hunter2}
"""


def test_secret_data() -> None:
    found = check(SECRET)
    assert messages(found) == [
        "policy/secret-data: Secret/customer-acme/db: holds plaintext values in git (data keys: "
        "password; stringData keys: user); refer to the secret (e.g. an ExternalSecret) instead"
    ]
    assert not any(value in found[0].message for value in ("aHVudGVyMg", "hunter2", "admin"))


def test_secret_without_values_passes() -> None:
    doc = "{apiVersion: v1, kind: Secret, metadata: {name: t, namespace: customer-acme}, data: {}}"
    assert check(doc) == []


# --- namespace ---------------------------------------------------------------------------


def test_namespace_of_another_customer() -> None:
    fleet = {
        "acme": [manifest(deployment().replace("customer-acme", "customer-beta"))],
        "beta": [],
    }
    assert messages(run_policy(fleet)) == [
        'policy/namespace: Deployment/customer-beta/web: is in namespace "customer-beta" of '
        'customer "beta", expected "customer-acme"'
    ]


def test_namespace_object_named_for_customer() -> None:
    found = check("{apiVersion: v1, kind: Namespace, metadata: {name: default}}")
    assert messages(found) == [
        'policy/namespace: Namespace/default: is namespace "default", expected "customer-acme"'
    ]
    assert check("{apiVersion: v1, kind: Namespace, metadata: {name: customer-acme}}") == []


@pytest.mark.parametrize(
    "doc",
    [
        "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}",  # Argo CD sets it on sync
        "{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r}}",
        "{apiVersion: argoproj.io/v1alpha1, kind: AppProject, metadata: {name: p}}",
    ],
)
def test_namespace_exempt(doc: str) -> None:
    assert check(doc) == []


APPLICATION = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: customer-acme, namespace: argocd}
spec:
  project: customers
  destination: {server: "https://kubernetes.default.svc", namespace: %s}
"""


def test_namespace_of_application_destination() -> None:
    assert check(APPLICATION % "customer-acme") == []
    assert messages(check(APPLICATION % "kube-system")) == [
        'policy/namespace: Application/argocd/customer-acme: deploys to namespace "kube-system", '
        'expected "customer-acme"'
    ]


def test_namespace_layout_is_configurable() -> None:
    found = run_policy({"acme": [manifest(deployment())]}, expected_namespace=lambda c: f"{c}-prod")
    assert [f.rule for f in found] == ["policy/namespace"]
    assert found[0].message.endswith('expected "acme-prod"')


# --- ingress-hosts -----------------------------------------------------------------------

INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: customer-%s}
spec:
  tls: [{hosts: [%s], secretName: tls}]
  rules: [{host: %s}]
"""


def ingress(customer: str, host: str, tls_host: str | None = None) -> Manifest:
    return manifest(INGRESS % (customer, tls_host or host, host), customer)


def test_ingress_host_shared_by_customers() -> None:
    fleet = {
        "acme": [ingress("acme", "shop.example.com")],
        "beta": [ingress("beta", "Shop.Example.com.", tls_host="beta.example.com")],
        "gamma": [ingress("gamma", "gamma.example.com", tls_host="shop.example.com")],
    }
    assert messages(run_policy(fleet)) == [
        'policy/ingress-hosts: Ingress/customer-acme/web: host "shop.example.com" is also used '
        'by customer(s) "beta", "gamma"',
        'policy/ingress-hosts: Ingress/customer-beta/web: host "shop.example.com" is also used '
        'by customer(s) "acme", "gamma"',
        'policy/ingress-hosts: Ingress/customer-gamma/web: host "shop.example.com" is also used '
        'by customer(s) "acme", "beta"',
    ]


def test_ingress_hosts_unique_or_within_one_customer_pass() -> None:
    fleet = {
        "acme": [ingress("acme", "acme.example.com"), ingress("acme", "acme.example.com")],
        "beta": [ingress("beta", "beta.example.com")],
    }
    assert run_policy(fleet) == []


# --- the registry --------------------------------------------------------------------------


def test_rule_switched_off() -> None:
    assert check(SECRET, secret_data=False) == []
    assert check(SECRET, secret_data=True) != []


def test_unknown_rule_id() -> None:
    with pytest.raises(InputError) as error:
        check(deployment(), image_tags=False)
    assert str(error.value) == (
        "unknown policy rule 'image-tags'; valid rules: image-tag, ingress-hosts, namespace, "
        "probes, resources, secret-data"
    )


def test_rules_are_documented() -> None:
    assert sorted(RULES) == [
        "image-tag", "ingress-hosts", "namespace", "probes", "resources", "secret-data"
    ]  # fmt: skip
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert len(rule.doc.splitlines()) > 3, rule_id


def test_findings_sorted_across_customers_and_rules() -> None:
    bad = deployment(container(image="app", resources=None))
    fleet = {"beta": [manifest(bad, "beta")], "acme": [manifest(bad)]}
    found = run_policy(fleet, expected_namespace=lambda c: "customer-acme")
    assert found == sorted(found)
    assert [(f.customer, f.rule) for f in found] == [
        ("acme", "policy/image-tag"),
        ("acme", "policy/resources"),
        ("beta", "policy/image-tag"),
        ("beta", "policy/resources"),
    ]


def test_malformed_objects_do_not_crash() -> None:
    doc = "{apiVersion: apps/v1, kind: Deployment, metadata: x, spec: {template: [1]}}"
    assert check(doc) == []
    pod = "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [3, {}]}}"
    assert [f.rule for f in check(pod)] == ["policy/image-tag"] * 2 + ["policy/resources"] * 2
