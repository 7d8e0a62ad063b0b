"""The application chart gitops/chart, rendered with the real helm binary.

Every rendered object is validated against the strict Kubernetes JSON schemas
(unknown fields are errors), as gitops-gen's validate stage does.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "gitops" / "chart"
KUBE_VERSION = "1.37.0"
SCHEMA_DIR = (
    Path(kubernetes_validate.__file__).parent
    / "kubernetes-json-schema"
    / f"v{KUBE_VERSION}-local-strict"
)
DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"

# The values contract: what gitops-gen writes to gitops/apps/customer-acme/values.yaml.
ACME: dict[str, Any] = {
    "customer": "acme",
    "host": "acme.app.lunarfront.tech",
    "image": {
        "repository": "registry.lunarfront.tech/ryan/lunarfront-app",
        "tag": "1.0.0",
        "pullPolicy": "IfNotPresent",
    },
    "replicas": 2,
    "containerPort": 3000,
    "resources": {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    },
    "probes": {"path": "/v1/health", "initialDelaySeconds": 5, "periodSeconds": 10},
    "env": {"NODE_ENV": "production"},
    "secretEnv": {"JWT_SECRET": {"secretName": "acme-app", "key": "jwt-secret"}},
    "database": {
        "name": "customer_acme",
        "urlSecret": {"secretName": "acme-database", "key": "url"},
    },
    "redis": {"urlSecret": {"secretName": "acme-redis", "key": "url"}},
    "ingress": {
        "className": "nginx",
        "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        "tlsSecretName": "acme-tls",
    },
    "migration": {
        "enabled": True,
        "command": ["bun", "run", "db:migrate"],
        "backoffLimit": 2,
        "activeDeadlineSeconds": 600,
    },
}
DIGEST = "sha256:" + "0123456789abcdef" * 4


@functools.cache
def helm() -> str:
    path = os.environ.get("GITOPS_GEN_HELM") or shutil.which("helm")
    if not path:
        pytest.fail(
            "helm not found (set GITOPS_GEN_HELM or put helm on PATH): "
            "run `gitops-gen tools install`"
        )
    return path


def acme(**overrides: Any) -> dict[str, Any]:
    values = copy.deepcopy(ACME)
    values.update(overrides)
    return values


def run_helm(
    args: list[str], values: dict[str, Any] | str | None, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    cmd = [helm(), *args]
    if values is not None:
        values_file = tmp_path / "values.yaml"
        # JSON is YAML that quotes every string: PyYAML's own YAML leaves e.g. 1e3
        # unquoted, which Helm's parser then reads as a number.
        text = values if isinstance(values, str) else json.dumps(values, indent=2)
        values_file.write_text(text, encoding="utf-8")
        cmd += ["-f", str(values_file)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)


def template(
    values: dict[str, Any] | str | None, tmp_path: Path, release: str = "acme"
) -> subprocess.CompletedProcess[str]:
    return run_helm(
        [
            "template",
            release,
            str(CHART),
            "--namespace",
            f"customer-{release}",
            "--kube-version",
            KUBE_VERSION,
        ],
        values,
        tmp_path,
    )


def render(values: dict[str, Any] | str | None, tmp_path: Path, release: str = "acme") -> str:
    proc = template(values, tmp_path, release)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def objects(manifest: str) -> list[dict[str, Any]]:
    # PyYAML is a YAML 1.1 parser: it reads NO/on/yes as booleans, so it also
    # checks that the chart quotes such strings.
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def by_kind(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {o["kind"]: o for o in objs}
    assert len(kinds) == len(objs), "one object per kind expected"
    return kinds


def pod_env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@functools.cache
def registry() -> jsonschema_rs.Registry:
    defs = json.loads((SCHEMA_DIR / "_definitions.json").read_text(encoding="utf-8"))
    return jsonschema_rs.Registry([(DEFINITIONS_URI, defs)])


@functools.cache
def validator(api_version: str, kind: str) -> Any:
    # deployment-apps-v1.json, ingress-networking-v1.json, service-v1.json
    group, _, version = api_version.rpartition("/")
    stem = "-".join(p for p in (kind.lower(), group.split(".")[0], version) if p)
    schema = json.loads((SCHEMA_DIR / f"{stem}.json").read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema, registry=registry())


def schema_errors(obj: dict[str, Any]) -> list[str]:
    v = validator(obj["apiVersion"], obj["kind"])
    return [f"{e.instance_path}: {e.message}" for e in v.iter_errors(obj)]


VARIANTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "contract": ("acme", ACME),
    "chart-defaults": ("example", None),
    "no-redis-no-migration": (
        "acme",
        {k: v for k, v in acme(migration={"enabled": False}).items() if k != "redis"},
    ),
    "digest-and-zero-replicas": (
        "acme",
        acme(image={**ACME["image"], "tag": DIGEST}, replicas=0, secretEnv={}, env={}),
    ),
}


@pytest.fixture(params=sorted(VARIANTS))
def rendered(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    release, values = VARIANTS[request.param]
    yield objects(render(values, tmp_path, release))


# --- lint and schema validation -------------------------------------------------


def test_lint_strict(tmp_path: Path) -> None:
    proc = run_helm(["lint", str(CHART), "--strict"], None, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run_helm(["lint", str(CHART), "--strict"], ACME, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_object_is_valid_in_strict_mode(rendered: list[dict[str, Any]]) -> None:
    assert rendered
    for obj in rendered:
        assert schema_errors(obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"


def test_strict_validation_is_not_vacuous(tmp_path: Path) -> None:
    deployment = by_kind(objects(render(ACME, tmp_path)))["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"] = "nope"
    deployment["spec"]["unknownField"] = True
    errors = schema_errors(deployment)
    assert any("unknownField" in e for e in errors), errors
    assert any("envFrom" in e for e in errors), errors


def test_renders_the_expected_objects(tmp_path: Path) -> None:
    objs = objects(render(ACME, tmp_path))
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objs) == [
        ("Deployment", "acme"),
        ("Ingress", "acme"),
        ("Job", "acme-migrate"),
        ("Service", "acme"),
    ]
    for obj in objs:
        meta = obj["metadata"]
        assert meta["namespace"] == "customer-acme"
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == "lunarfront"
        assert labels["app.kubernetes.io/instance"] == "acme"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/part-of"] == "lunarfront"
        assert labels["gitops-gen.io/customer"] == "acme"
        assert "helm.sh/chart" not in labels


def test_optional_objects_and_env(tmp_path: Path) -> None:
    values = acme(migration={"enabled": False}, redis=None)
    kinds = by_kind(objects(render(values, tmp_path)))
    assert "Job" not in kinds
    env = pod_env(kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0])
    assert "REDIS_URL" not in env


# --- values.schema.json ---------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (acme(bogus=1), "bogus"),
        (acme(replicas="two"), "/replicas"),
        (acme(replicas=101), "/replicas"),
        (acme(containerPort=0), "/containerPort"),
        (acme(image={**ACME["image"], "tag": "has space"}), "/image/tag"),
        (acme(image={**ACME["image"], "extra": "x"}), "extra"),
        (
            acme(
                resources={
                    "requests": {"cpu": 1, "memory": "1Gi"},
                    "limits": ACME["resources"]["limits"],
                }
            ),
            "/resources/requests/cpu",
        ),
        (
            acme(secretEnv={"JWT_SECRET": {"secretName": "acme-app", "value": "hunter2"}}),
            "/secretEnv/JWT_SECRET",
        ),
        # null in user values deletes the key, so `required` is what fires.
        (acme(host=None), "host"),
    ],
)
def test_values_schema_rejects(values: dict[str, Any], message: str, tmp_path: Path) -> None:
    proc = template(values, tmp_path)
    assert proc.returncode != 0
    assert "schema" in proc.stderr and message in proc.stderr, proc.stderr


def test_unquoted_yaml11_boolean_in_values_is_rejected(tmp_path: Path) -> None:
    # Helm reads values as YAML 1.1-ish: an unquoted NO is a boolean, not a string.
    text = yaml.safe_dump(ACME, sort_keys=False) + "\n"
    text = text.replace("NODE_ENV: production", "NODE_ENV: production\n  FLAG: NO")
    proc = template(text, tmp_path)
    assert proc.returncode != 0
    assert "/env/FLAG" in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("release", "values", "message"),
    [
        ("other", ACME, "must equal values.customer"),
        ("acme", acme(env={"DATABASE_URL": "postgres://u:p@h/db"}), "set by the chart"),
        ("acme", acme(env={"JWT_SECRET": "x"}), "both env and secretEnv"),
    ],
)
def test_template_guards(
    release: str, values: dict[str, Any], message: str, tmp_path: Path
) -> None:
    proc = template(values, tmp_path, release)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


# --- determinism and quoting ----------------------------------------------------


def test_renders_are_byte_identical(tmp_path: Path) -> None:
    first = render(ACME, tmp_path)
    second = render(ACME, tmp_path)
    assert first == second
    for forbidden in ("helm.sh/chart", "checksum/", "0.1.0"):
        assert forbidden not in first


def test_yaml11_lookalike_strings_stay_strings(tmp_path: Path) -> None:
    tricky = {
        "FLAG": "NO",
        "ON_OFF": "on",
        "OCTAL": "0755",
        "FLOAT": "1e3",
        "NULLISH": "~",
        "COLON": "a: b # not a comment",
        "QUOTES": "say \"hi\" 'there'",
        "MULTILINE": "line1\nline2",
        "TEMPLATE": "{{ .Release.Name }}",
        "EMPTY": "",
    }
    values = acme(env=tricky)
    kinds = by_kind(objects(render(values, tmp_path)))
    for kind, container in (
        ("Deployment", kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]),
        ("Job", kinds["Job"]["spec"]["template"]["spec"]["containers"][0]),
    ):
        env = pod_env(container)
        for name, value in tricky.items():
            assert env[name] == value, (kind, name)
        assert env["FLAG"] == "NO" and isinstance(env["FLAG"], str)


# --- workload shape ---------------------------------------------------------------


def test_deployment(tmp_path: Path) -> None:
    kinds = by_kind(objects(render(ACME, tmp_path)))
    dep = kinds["Deployment"]
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]["spec"]
    assert "checksum/config" not in dep["spec"]["template"]["metadata"].get("annotations", {})
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["containers"]
    assert container["image"] == "registry.lunarfront.tech/ryan/lunarfront-app:1.0.0"
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]
    assert container["resources"] == ACME["resources"]
    assert container["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/v1/health", "port": "http"}
    assert pod_env(container) == {
        "APP_HOST": "acme.app.lunarfront.tech",
        "NODE_ENV": "production",
        "DATABASE_URL": {"secretKeyRef": {"name": "acme-database", "key": "url"}},
        "REDIS_URL": {"secretKeyRef": {"name": "acme-redis", "key": "url"}},
        "JWT_SECRET": {"secretKeyRef": {"name": "acme-app", "key": "jwt-secret"}},
    }
    # The Service must not select the migration pod, which shares name/instance.
    selector = kinds["Service"]["spec"]["selector"]
    assert selector == dep["spec"]["selector"]["matchLabels"]
    assert selector["app.kubernetes.io/component"] == "web"
    job_labels = kinds["Job"]["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= job_labels.items()


def test_digest_tag_renders_repository_at_digest(tmp_path: Path) -> None:
    values = acme(image={**ACME["image"], "tag": DIGEST})
    kinds = by_kind(objects(render(values, tmp_path)))
    for kind in ("Deployment", "Job"):
        (container,) = kinds[kind]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"registry.lunarfront.tech/ryan/lunarfront-app@{DIGEST}"


def test_service_and_ingress(tmp_path: Path) -> None:
    kinds = by_kind(objects(render(ACME, tmp_path)))
    svc = kinds["Service"]["spec"]
    assert svc["type"] == "ClusterIP"
    assert svc["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    ing = kinds["Ingress"]
    assert ing["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": ["acme.app.lunarfront.tech"], "secretName": "acme-tls"}]
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "acme.app.lunarfront.tech"
    backend = rule["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "acme", "port": {"name": "http"}}}


def test_migration_job_is_a_sync_hook_before_the_app(tmp_path: Path) -> None:
    # a Sync-phase hook in the wave before the app, not PreSync: Argo CD runs PreSync
    # before it applies anything of the Sync phase, so on a first sync a PreSync Job
    # would start before the Secrets it reads exist (tests/test_runbook.py: the order)
    job = by_kind(objects(render(ACME, tmp_path)))["Job"]
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "Sync"
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    assert annotations["argocd.argoproj.io/sync-wave"] == "-1"
    spec = job["spec"]
    assert spec["backoffLimit"] == 2
    assert spec["activeDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["command"] == ["bun", "run", "db:migrate"]
    assert container["resources"] == ACME["resources"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = pod_env(container)
    assert env["DATABASE_URL"] == {"secretKeyRef": {"name": "acme-database", "key": "url"}}
    assert "JWT_SECRET" not in env


def test_no_secret_material_is_rendered(tmp_path: Path) -> None:
    objs = objects(render(ACME, tmp_path))
    assert not {o["kind"] for o in objs} & {"Secret", "ConfigMap"}
    for obj in objs:
        if obj["kind"] in ("Deployment", "Job"):
            for c in obj["spec"]["template"]["spec"]["containers"]:
                for e in c["env"]:
                    if e["name"] in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET"):
                        assert "value" not in e and "secretKeyRef" in e["valueFrom"]
