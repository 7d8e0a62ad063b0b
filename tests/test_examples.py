"""The five seed platforms under examples/: each validates as committed (real helm and
kustomize builds, strict schemas, policy on), scaffolds with `init --template`, and
carries over what its write-up says (asserted on the built objects)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.build import GoYamlLoader, build_all
from gitops_gen.model import Manifest
from gitops_gen.scaffold import template_names
from gitops_gen.toolchain import find_toolchain
from tests.conftest import REPO_ROOT, cli, commit_files, git

EXAMPLES = ["lunarfront", "nmt", "nickapp", "newfinity", "neotool"]
EXAMPLES_DIR = REPO_ROOT / "examples"
KUBE_VERSION = "1.37"  # every example's kubernetesVersion, as Argo CD passes it to helm


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_validates_as_committed(example: str) -> None:
    before = _files(EXAMPLES_DIR / example)
    result = cli("-C", f"examples/{example}", "validate", cwd=REPO_ROOT)
    assert result.code == 0, result.text
    assert result.out.startswith("ok: "), result.out
    assert _files(EXAMPLES_DIR / example) == before


def test_every_example_is_a_template_and_tested() -> None:
    on_disk = sorted(p.parent.name for p in EXAMPLES_DIR.glob("*/gitops-gen.yaml"))
    assert on_disk == sorted(EXAMPLES)
    assert template_names() == sorted(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_init_template_then_add_then_validate(example: str, tmp_path: Path) -> None:
    result = cli("init", "--template", example, "p", cwd=tmp_path)
    assert result.code == 0, result.text
    root = tmp_path / "p"
    scaffolded = commit_files(root)
    # A new platform starts without the example's customers and their generated files.
    assert "customers/.gitkeep" in scaffolded
    assert not [f for f in scaffolded if f.startswith(("customers/", "gitops/apps/"))
                and f != "customers/.gitkeep"]
    assert "gitops/argocd/project.yaml" in scaffolded  # platform-wide, compiled by init
    assert (root / "gitops-gen.yaml").read_bytes() == (
        EXAMPLES_DIR / example / "gitops-gen.yaml").read_bytes()

    result = cli("add", "demo", cwd=root)
    assert result.code == 0, result.text
    assert "customers/demo.yaml" in commit_files(root)
    result = cli("validate", cwd=root)
    assert result.code == 0, result.text
    assert git("status", "--porcelain", cwd=root) == ""


def test_bump_image_workflow_only_for_a_fleet_image(tmp_path: Path) -> None:
    for example, has_fleet_image in (("nmt", True), ("nickapp", False)):
        assert cli("init", "--template", example, example, cwd=tmp_path).code == 0
        workflow = tmp_path / example / ".gitea/workflows/bump-image.yml"
        assert workflow.is_file() == has_fleet_image, example


def test_unknown_template_lists_the_known_ones(tmp_path: Path) -> None:
    result = cli("init", "--template", "nope", "p", cwd=tmp_path)
    assert result.code == 2
    assert "unknown template 'nope'; templates: lunarfront, neotool, newfinity, nickapp, nmt" in (
        result.err)
    assert not (tmp_path / "p").exists()


def test_lunarfront_example_is_the_default_platform() -> None:
    """`examples/lunarfront` is this repo's own platform with the write-up's customers;
    when the default platform changes, copy its files over and recompile the example."""
    for rel in ("gitops-gen.yaml", "templates", "schemas", "gitops/chart"):
        assert _files(EXAMPLES_DIR / "lunarfront" / rel) == _files(REPO_ROOT / rel), rel


def test_examples_share_the_argocd_crd_schemas() -> None:
    wanted = _files(REPO_ROOT / "schemas/argoproj.io")
    for example in EXAMPLES:
        assert _files(EXAMPLES_DIR / example / "schemas/argoproj.io") == wanted, example


def test_scaffold_from_an_installed_wheel(tmp_path: Path) -> None:
    work = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(work / "dist"), str(REPO_ROOT)], check=True, capture_output=True)
    wheel = next((work / "dist").glob("gitops_gen-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(work / "site"), str(wheel)], check=True, capture_output=True)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import gitops_gen;"
        "assert gitops_gen.__file__.startswith(sys.argv[1]), gitops_gen.__file__;"
        "from gitops_gen.cli import main;"
        "raise SystemExit(main(['init', '--template', 'neotool', 'p']))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(work / "site")], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert cli("init", "--template", "neotool", "q", cwd=tmp_path).code == 0
    from_wheel, from_checkout = _files(tmp_path / "p"), _files(tmp_path / "q")
    assert from_wheel == from_checkout
    assert "gitops/chart/templates/networkpolicies.yaml" in from_wheel


# --- what each write-up says, on the built objects ---------------------------------------


@cache
def built(example: str) -> dict[str, list[Manifest]]:
    """Every customer's objects as Argo CD would apply them, built from the committed
    Applications with the real helm and kustomize."""
    root = EXAMPLES_DIR / example
    apps: dict[str, list[Manifest]] = {}
    for manifest in applications(example):
        apps.setdefault(manifest.customer, []).append(manifest)
    results = build_all(root, apps, find_toolchain({}), KUBE_VERSION, jobs=4)
    for result in results.values():
        assert result.findings == [], result.findings
    return {name: result.manifests for name, result in results.items()}


@cache
def applications(example: str) -> list[Manifest]:
    root = EXAMPLES_DIR / example
    out = []
    for path in sorted((root / "gitops/argocd").glob("customer-*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=GoYamlLoader):
            customer = doc["metadata"]["labels"]["gitops-gen.io/customer"]
            out.append(Manifest(customer, doc, path.relative_to(root).as_posix()))
    return out


def one(manifests: list[Manifest], kind: str, name: str | Callable[[str], bool]) -> Manifest:
    matches = [m for m in manifests if m.kind == kind
               and (name(m.name) if callable(name) else m.name == name)]
    assert len(matches) == 1, [m.ident() for m in manifests if m.kind == kind]
    return matches[0]


def kinds(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m.kind == kind]


def pod(manifest: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = manifest.obj["spec"]
    if manifest.kind == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def container(manifest: Manifest) -> dict[str, Any]:
    [only] = pod(manifest)["containers"]
    return dict(only)


def plain_env(workload: Manifest) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(workload)["env"] if "value" in e}


def secret_refs(c: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Env var -> (Secret, key) of every variable read from a Secret."""
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c.get("env", []) if "valueFrom" in e}
    return {name: (ref["name"], ref["key"]) for name, ref in refs.items()}


def test_lunarfront_write_up() -> None:
    objects = built("lunarfront")
    assert sorted(objects) == ["acme", "foo"]
    for name, manifests in objects.items():
        assert one(manifests, "Namespace", f"customer-{name}")
        deployment = one(manifests, "Deployment", name)
        assert deployment.obj["metadata"]["annotations"] == {
            "gitops-gen.io/database": f"customer_{name}"}
        migrate = one(manifests, "Job", f"{name}-migrate")
        assert migrate.obj["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"
        # the write-up's `CREATE DATABASE customer_x` step, as a Job before the migration
        create = one(manifests, "Job", f"{name}-db-init")
        assert create.obj["metadata"]["annotations"]["gitops-gen.io/database"] == (
            f"customer_{name}")
        assert one(manifests, "Ingress", name).obj["spec"]["rules"][0]["host"] == (
            f"{name}.app.lunarfront.tech")
        assert kinds(manifests, "Secret") == []
    acme = container(one(objects["acme"], "Deployment", "acme"))
    assert secret_refs(acme) == {"DATABASE_URL": ("acme-database", "url"),
                                 "REDIS_URL": ("acme-redis", "url"),
                                 "JWT_SECRET": ("acme-app", "jwt-secret")}
    # foo is pinned to an older release while the fleet tag moves on
    assert container(one(objects["foo"], "Deployment", "foo"))["image"].endswith(":0.9.0")
    assert acme["image"] == "registry.lunarfront.tech/ryan/lunarfront-app:1.0.0"


def test_nmt_write_up() -> None:
    objects = built("nmt")
    hosts = {env: one(m, "Ingress", f"nmt-{env}-backend").obj["spec"]["rules"][0]["host"]
             for env, m in objects.items()}
    assert hosts == {"stage": "backend.stage.newmarkettrading.com",
                     "production": "backend.newmarkettrading.com"}
    for env, manifests in objects.items():
        backend = one(manifests, "Deployment", f"nmt-{env}-backend")
        assert backend.namespace == f"nmt-{env}"
        assert backend.obj["spec"]["replicas"] == 1
        assert container(backend)["resources"] == {
            "requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
        ram_disks = {v["name"]: v["emptyDir"] for v in pod(backend)["volumes"]}
        assert ram_disks == {"chrome-data": {"medium": "Memory", "sizeLimit": "2Gi"},
                             "tmp": {"medium": "Memory", "sizeLimit": "1Gi"}}
        postgres = one(manifests, "StatefulSet", f"nmt-{env}-postgres")
        assert container(postgres)["image"].startswith("docker.io/library/postgres:16.")
        [claim] = postgres.obj["spec"]["volumeClaimTemplates"]
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        ingress = one(manifests, "Ingress", f"nmt-{env}-backend").obj
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        assert ingress["spec"]["tls"][0]["hosts"] == [hosts[env]]
    stage_claim = one(objects["stage"], "StatefulSet", "nmt-stage-postgres").obj
    assert stage_claim["spec"]["volumeClaimTemplates"][0]["spec"]["resources"] == {
        "requests": {"storage": "10Gi"}}


def _bytes(size: str) -> int:
    """nginx's size syntax (`10m`) in bytes."""
    match = re.fullmatch(r"([0-9]+)([kmg]?)", size.lower())
    assert match, size
    return int(match[1]) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match[2]]


def test_nickapp_write_up() -> None:
    objects = built("nickapp")
    assert sorted(objects) == ["dev", "production"]
    for env, manifests in objects.items():
        frontend = one(manifests, "Deployment", f"nickapp-{env}-frontend")
        backend = one(manifests, "Deployment", f"nickapp-{env}-backend")
        images = {container(d)["image"].rsplit(":", 1)[0] for d in (frontend, backend)}
        assert images == {"git.manko.yoga/manawenuz/escrow-frontend",
                          "git.manko.yoga/manawenuz/escrow-backend"}
        for deployment, path in ((frontend, "/"), (backend, "/health")):
            c = container(deployment)
            assert c["livenessProbe"]["httpGet"]["path"] == path
            assert c["readinessProbe"]["httpGet"]["path"] == path
        ingress = one(manifests, "Ingress", f"nickapp-{env}").obj
        routes = {p["path"]: p["backend"]["service"]["name"]
                  for p in ingress["spec"]["rules"][0]["http"]["paths"]}
        assert routes == {"/api": backend.name, "/socket.io": backend.name,
                          "/uploads": backend.name, "/": frontend.name}
        body = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
        assert _bytes(body) >= 10 * 1024**2
        redis = one(manifests, "StatefulSet", f"nickapp-{env}-redis")
        assert container(redis)["args"][:2] == ["--requirepass", "$(REDIS_PASSWORD)"]
        assert secret_refs(container(redis)) == {"REDIS_PASSWORD": ("nickapp-redis", "password")}
        assert secret_refs(container(backend))["REDIS_PASSWORD"] == ("nickapp-redis", "password")
        for store in ("mongodb", "redis"):
            stateful = one(manifests, "StatefulSet", f"nickapp-{env}-{store}")
            assert stateful.obj["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
        assert one(manifests, "PersistentVolumeClaim", f"nickapp-{env}-uploads")
    dev_backend = container(one(objects["dev"], "Deployment", "nickapp-dev-backend"))
    assert dev_backend["image"].endswith(":1.1.0-rc.1")  # dev pins its own backend tag


def test_newfinity_write_up() -> None:
    apps = applications("newfinity")
    destinations = {(a.customer, a.obj["spec"]["destination"]["server"]) for a in apps}
    production = sorted(server for customer, server in destinations if customer == "production")
    assert production == ["https://eu-central.k8s.newfinity.example",
                          "https://us-east.k8s.newfinity.example"]
    assert {a.obj["spec"]["destination"]["namespace"] for a in apps
            if a.customer == "production"} == {"newfinity-production"}
    assert sorted({a.customer for a in apps}) == ["local", "production", "staging"]
    project = yaml.safe_load((EXAMPLES_DIR / "newfinity/gitops/argocd/project.yaml").read_text())
    assert {d["server"] for d in project["spec"]["destinations"]} == {
        "https://kubernetes.default.svc", "https://eu-central.k8s.newfinity.example",
        "https://us-east.k8s.newfinity.example"}
    objects = built("newfinity")
    for env, manifests in objects.items():
        regions = len([a for a in apps if a.customer == env])
        assert len(kinds(manifests, "CronJob")) == regions
        assert len(kinds(manifests, "Deployment")) == 2 * regions  # API and worker
        for workload in kinds(manifests, "Deployment") + kinds(manifests, "CronJob"):
            refs = secret_refs(container(workload))
            assert refs["DATABASE_URL"] == ("newfinity-mysql", "url"), workload.ident()
    cron = kinds(objects["staging"], "CronJob")[0].obj
    assert cron["spec"]["schedule"] == "15 3 * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    regions = {env["REGION"] for env in map(plain_env, kinds(objects["production"], "Deployment"))}
    assert regions == {"eu-central", "us-east"}  # set per Application (a helm parameter)


def test_neotool_write_up() -> None:
    objects = built("neotool")
    for env, replicas in (("dev", 1), ("staging", 2), ("prod", 3)):
        manifests = objects[env]
        deployments = kinds(manifests, "Deployment")
        assert sorted(d.name for d in deployments) == [
            f"neotool-{env}-backend", f"neotool-{env}-frontend", f"neotool-{env}-router"]
        for deployment in deployments:
            assert deployment.namespace == f"neotool-{env}"
            assert deployment.obj["spec"]["replicas"] == replicas
            assert deployment.obj["spec"]["strategy"] == {
                "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
            c = container(deployment)
            assert c["livenessProbe"] and c["readinessProbe"]
        postgres = one(manifests, "StatefulSet", "postgresql")
        assert postgres.namespace == f"neotool-{env}-data"
        policies = {(p.namespace, p.name) for p in kinds(manifests, "NetworkPolicy")}
        assert (f"neotool-{env}", "default-deny-ingress") in policies
        assert (f"neotool-{env}-data", "default-deny-ingress") in policies
        assert (f"neotool-{env}-data", "postgresql") in policies
    assert kinds(objects["dev"], "HorizontalPodAutoscaler") == []
    prod = objects["prod"]
    backend = container(one(prod, "Deployment", "neotool-prod-backend"))
    assert backend["livenessProbe"]["httpGet"]["path"] == "/health/liveness"
    assert backend["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    hpas = kinds(prod, "HorizontalPodAutoscaler")
    assert sorted(h.obj["spec"]["scaleTargetRef"]["name"] for h in hpas) == [
        "neotool-prod-backend", "neotool-prod-frontend"]
    for hpa in hpas:
        spec = hpa.obj["spec"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)
        targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
                   for m in spec["metrics"]}
        assert targets == {"cpu": 70, "memory": 80}
    [claim] = one(prod, "StatefulSet", "postgresql").obj["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    # Argo CD leaves the replica count to the HPAs where they run
    app = next(a for a in applications("neotool") if a.customer == "prod").obj["spec"]
    assert app["ignoreDifferences"][0]["jsonPointers"] == ["/spec/replicas"]
    assert "RespectIgnoreDifferences=true" in app["syncPolicy"]["syncOptions"]


def _files(root: Path) -> dict[str, bytes]:
    if root.is_file():
        return {root.name: root.read_bytes()}
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts}
