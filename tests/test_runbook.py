"""The LunarFront onboarding runbook in one step, and offboarding that cannot destroy data
by accident (issue 9): through the CLI, on real git repos, with the real helm and
kustomize and the real Kubernetes and CRD schemas. No Argo CD, cluster, secrets operator
or database server exists here: the sync order is read off the built objects, exactly as
Argo CD reads it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.argocd import applications, argocd_objects
from gitops_gen.build import GoYamlLoader, build_all
from gitops_gen.k8s_schemas import SchemaStore
from gitops_gen.model import Manifest
from gitops_gen.toolchain import find_toolchain
from gitops_gen.validators import select_backend
from tests.conftest import cli, commit_count, git, tree_state

KUBE = "1.37.0"
HOOK = "argocd.argoproj.io/hook"
WAVE = "argocd.argoproj.io/sync-wave"
DNS_FILE = "gitops/dns/customer-records.auto.tfvars.json"


def built(root: Path, name: str) -> list[Manifest]:
    """The customer's Argo CD Application and every object it builds to."""
    files = [(p.relative_to(root).as_posix(), name)
             for p in sorted((root / "gitops").rglob(f"customer-{name}*")) if p.is_file()]
    generated, problems = argocd_objects(root, files)
    assert not problems
    results = build_all(root, applications(generated), find_toolchain({}), "1.37", 1)
    assert results[name].findings == []
    return generated + results[name].manifests


def one(manifests: list[Manifest], kind: str, name: str) -> dict[str, Any]:
    [found] = [m.obj for m in manifests if m.kind == kind and m.name == name]
    return found


def annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def wave(obj: dict[str, Any]) -> int:
    return int(annotations(obj).get(WAVE, "0"))


def set_config(root: Path, old: str, new: str) -> None:
    config = root / "gitops-gen.yaml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))


# --- what onboarding generates ----------------------------------------------------------


def test_onboarding_objects_validate_strictly_against_their_crd_schemas(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    result = cli("validate", "--backend", "embedded", cwd=platform)
    assert result.code == 0, result.text
    objects = built(platform, "acme")
    kinds = {(m.api_version, m.kind) for m in objects}
    assert {("batch/v1", "Job"), ("external-secrets.io/v1", "ExternalSecret"),
            ("generators.external-secrets.io/v1alpha1", "Password"),
            ("argoproj.io/v1alpha1", "Application")} <= kinds
    store = SchemaStore(KUBE, [platform / "schemas"])
    for api_version, kind in kinds:
        assert store.schema_for(api_version, kind) is not None, (api_version, kind)
    backend = select_backend("embedded", store, [])
    assert backend.validate(objects) == []
    # strict: a misspelt field of a CRD object is a finding, not silently ignored
    secret = next(m for m in objects if m.kind == "ExternalSecret")
    typo = json.loads(json.dumps(secret.obj))
    typo["spec"]["refreshPolicyy"] = "CreatedOnce"
    findings = backend.validate([Manifest("acme", typo, secret.source)])
    assert [f.rule for f in findings] == ["schema"]
    assert "refreshPolicyy" in findings[0].message


def test_the_database_is_created_by_a_job_from_secret_references(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    objects = built(platform, "acme")
    job = one(objects, "Job", "acme-db-init")
    [container] = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["ADMIN_URL"]["valueFrom"]["secretKeyRef"] == {"name": "acme-db-admin",
                                                           "key": "url"}
    assert env["ROLE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "acme-database",
                                                               "key": "password"}
    assert "--set=dbname=customer_acme" in container["args"]
    assert container["args"][-1] == "$(ADMIN_URL)"  # expanded by the kubelet, never stored
    script = one(objects, "ConfigMap", "acme-db-init")["data"]["db-init.sql"]
    # idempotent: nothing is created unconditionally, nothing is ever dropped
    assert "WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles" in script
    assert "WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database" in script
    statements = [ln for ln in script.splitlines() if ln.strip() and not ln.startswith("--")]
    assert statements.count("\\gexec") == 2
    assert not [ln for ln in statements if re.search(r"(?i)\b(drop|delete|truncate)\b", ln)]
    # the admin URL comes from the platform's store, and only for the length of a sync
    admin = one(objects, "ExternalSecret", "acme-db-admin")
    assert admin["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "lunarfront"}
    assert admin["spec"]["data"][0]["remoteRef"]["key"] == "platform/postgres-admin"
    assert annotations(admin)[HOOK] == "Sync"
    assert "HookSucceeded" in annotations(admin)["argocd.argoproj.io/hook-delete-policy"]
    # the app's URL is composed in the cluster from the generated password
    database = one(objects, "ExternalSecret", "acme-database")
    template = database["spec"]["target"]["template"]["data"]
    assert template["url"].startswith("postgresql://customer_acme:{{ .password }}@")
    assert database["spec"]["dataFrom"][0]["sourceRef"]["generatorRef"]["kind"] == "Password"
    assert database["spec"]["refreshPolicy"] == "CreatedOnce"  # never regenerated
    deployment = one(objects, "Deployment", "acme")
    [app] = deployment["spec"]["template"]["spec"]["containers"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in app["env"] if "valueFrom" in e}
    assert refs["DATABASE_URL"] == {"name": "acme-database", "key": "url"}
    assert refs["JWT_SECRET"] == {"name": "acme-app", "key": "jwt-secret"}
    app_secret = one(objects, "ExternalSecret", "acme-app")
    [source] = app_secret["spec"]["dataFrom"]
    assert source["sourceRef"]["generatorRef"]["name"] == "acme-app-jwt-secret"
    assert source["rewrite"] == [{"regexp": {"source": "^password$", "target": "jwt-secret"}}]
    assert one(objects, "Password", "acme-app-jwt-secret")["spec"]["length"] == 64


def test_sync_order_secrets_then_database_then_migration_then_app(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    objects = built(platform, "acme")
    waves = {(m.kind, m.name): wave(m.obj) for m in objects if m.kind != "Application"}
    namespace = waves[("Namespace", "customer-acme")]
    generators = {waves[k] for k in waves if k[0] == "Password"}
    secrets = {waves[k] for k in waves if k[0] == "ExternalSecret"}
    database = waves[("Job", "acme-db-init")]
    migration = waves[("Job", "acme-migrate")]
    app = {waves[("Deployment", "acme")], waves[("Service", "acme")], waves[("Ingress", "acme")]}
    assert namespace < min(generators) and max(generators) < min(secrets)
    assert max(secrets) < database < migration < min(app)
    assert waves[("ConfigMap", "acme-db-init")] <= database
    # all in the Sync phase: a PreSync hook would run before any of the Secrets it reads
    # exist on a first sync
    hooks = {m.name: annotations(m.obj).get(HOOK) for m in objects if HOOK in annotations(m.obj)}
    assert hooks == {"acme-db-admin": "Sync", "acme-db-init": "Sync", "acme-migrate": "Sync"}
    application = one(objects, "Application", "customer-acme")
    assert application["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert application["spec"]["syncPolicy"]["retry"]["limit"] > 0


def test_add_prints_the_runbook(platform: Path) -> None:
    result = cli("add", "acme", cwd=platform)
    assert result.code == 0, result.text
    out = result.out
    sha = git("rev-parse", "HEAD", cwd=platform).strip()
    assert f"commit {sha}" in out
    assert "host:      https://acme.app.lunarfront.tech" in out
    assert "CNAME to lb.lunarfront.tech" in out
    assert "namespace: customer-acme" in out
    assert re.search(r"database: +customer_acme, role customer_acme, on \S+:25060", out)
    assert "acme-app (jwt-secret: generated)" in out
    assert "acme-database (url, password: generated)" in out
    lines = out.splitlines()

    def at(pattern: str) -> int:
        [index] = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        return index

    assert at(r"wave -5 +namespace +Namespace customer-acme") < at(
        r"wave -3 +secrets +ExternalSecret acme-app") < at(
        r"wave -2 +database +ConfigMap acme-db-init, Job acme-db-init \(hook\)") < at(
        r"wave -1 +migration +Job acme-migrate") < at(r"wave  0 .*Deployment acme")


def test_a_spec_may_keep_an_existing_database(platform: Path) -> None:
    result = cli("add", "acme", "--set", "database.provision=false", cwd=platform)
    assert result.code == 0, result.text
    assert "database:  customer_acme (exists already" in result.out
    objects = built(platform, "acme")
    assert not [m for m in objects if m.name.startswith(("acme-db-", "acme-database"))]


def test_a_spec_ref_cannot_hijack_a_generated_secret(platform: Path) -> None:
    state = tree_state(platform)
    result = cli("add", "acme", "--set", "secrets.API_KEY.secretName=acme-app",
                 "--set", "secrets.API_KEY.key=api-key", cwd=platform)
    assert result.code == 1, result.text
    assert "which the chart generates" in result.out
    assert tree_state(platform) == state


# --- DNS -------------------------------------------------------------------------------


def test_dns_external_dns_annotates_the_ingress(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    ingress = one(built(platform, "acme"), "Ingress", "acme")
    assert annotations(ingress)["external-dns.alpha.kubernetes.io/hostname"] == (
        "acme.app.lunarfront.tech")
    assert annotations(ingress)["external-dns.alpha.kubernetes.io/target"] == "lb.lunarfront.tech"
    assert not (platform / DNS_FILE).exists()


def test_dns_terraform_input_is_generated_validated_and_cleaned_up(platform: Path) -> None:
    set_config(platform, "provider: external-dns", "provider: terraform")
    git("commit", "-qam", "DNS by Terraform", cwd=platform)
    result = cli("add", "acme", cwd=platform)
    assert result.code == 0, result.text
    assert f"record in {DNS_FILE}" in result.out
    assert cli("add", "globex", "--set", "subdomain=globex-corp", cwd=platform).code == 0
    assert DNS_FILE in git("show", "--name-only", "--format=", "HEAD", cwd=platform)
    tfvars = json.loads((platform / DNS_FILE).read_text())
    assert tfvars["//"].startswith("GENERATED by gitops-gen from gitops-gen.yaml")
    assert tfvars["customer_dns_records"] == {
        "acme": {"hostname": "acme.app.lunarfront.tech", "type": "CNAME",
                 "target": "lb.lunarfront.tech", "ttl": 300},
        "globex": {"hostname": "globex-corp.app.lunarfront.tech", "type": "CNAME",
                   "target": "lb.lunarfront.tech", "ttl": 300},
    }
    ingress = one(built(platform, "acme"), "Ingress", "acme")
    assert not [k for k in annotations(ingress) if k.startswith("external-dns")]
    assert cli("validate", cwd=platform).code == 0

    # the schema catches what the DNS module would refuse (drift catches the hand edit)
    tfvars["customer_dns_records"]["acme"]["ttl"] = "300"
    (platform / DNS_FILE).write_text(json.dumps(tfvars, indent=2) + "\n")
    result = cli("validate", "--format", "json", cwd=platform)
    assert result.code == 1
    rules = {(f["file"], f["rule"]) for f in json.loads(result.out)["findings"]}
    assert (DNS_FILE, "schema") in rules and (DNS_FILE, "drift") in rules

    # back to ExternalDNS: the JSON file is recognised as generated, and so deleted;
    # a hand-written JSON file beside it is never touched
    git("checkout", "--", DNS_FILE, cwd=platform)
    (platform / "gitops/dns/manual.auto.tfvars.json").write_text('{\n  "zone": "x"\n}\n')
    set_config(platform, "provider: terraform", "provider: external-dns")
    assert cli("compile", cwd=platform).code == 0
    assert not (platform / DNS_FILE).exists()
    assert (platform / "gitops/dns/manual.auto.tfvars.json").is_file()


def test_terraform_dns_needs_a_target(platform: Path) -> None:
    set_config(platform, "provider: external-dns", "provider: terraform")
    config = platform / "gitops-gen.yaml"
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(ln for ln in lines if not ln.startswith("  target: lb.")))
    result = cli("compile", cwd=platform)
    assert result.code == 2
    assert "gitops-gen.yaml" in result.err and "'target' is required" in result.err


# --- offboarding ------------------------------------------------------------------------


def test_remove_without_retirement_changes_nothing_and_with_it_keeps_the_database(
        platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    state = tree_state(platform)
    result = cli("remove", "acme", cwd=platform)
    assert result.code == 2
    assert "lifecycle: retiring" in result.err
    assert tree_state(platform) == state
    spec = platform / "customers/acme.yaml"
    spec.write_text(spec.read_text() + "lifecycle: retiring\n")
    git("commit", "-qam", "Retire acme", cwd=platform)
    result = cli("remove", "acme", cwd=platform)
    assert result.code == 0, result.text
    assert "its database customer_acme and role customer_acme on " in result.out
    assert "DROP DATABASE customer_acme; DROP ROLE customer_acme;" in result.out


@pytest.fixture
def fleet(platform: Path) -> Path:
    for name in ("acme", "globex", "initech", "umbrella"):
        assert cli("add", name, cwd=platform).code == 0
    return platform


def test_mass_removal_is_a_validation_finding(fleet: Path) -> None:
    for name in ("acme", "globex", "initech"):
        (fleet / f"customers/{name}.yaml").unlink()
    assert cli("compile", cwd=fleet).code == 0
    result = cli("validate", "--format", "json", cwd=fleet)
    assert result.code == 1, result.text
    [finding] = json.loads(result.out)["findings"]
    assert finding["rule"] == "mass-removal"
    assert "removes 3 customers at once (acme, globex, initech)" in finding["message"]
    # the limit is configurable: raising it on purpose lets the change through
    set_config(fleet, "maxRemovedCustomers: 1", "maxRemovedCustomers: 3")
    assert cli("validate", cwd=fleet).code == 0


def test_one_removal_passes_and_ci_can_compare_with_its_target_branch(fleet: Path) -> None:
    (fleet / "customers/acme.yaml").unlink()
    assert cli("compile", cwd=fleet).code == 0
    assert cli("validate", cwd=fleet).code == 0
    git("add", "-A", cwd=fleet)
    git("commit", "-qm", "Remove acme", cwd=fleet)
    (fleet / "customers/globex.yaml").unlink()
    assert cli("compile", cwd=fleet).code == 0
    git("add", "-A", cwd=fleet)
    git("commit", "-qm", "Remove globex", cwd=fleet)
    # each commit removes one, the branch removes two: CI compares with its base
    assert cli("validate", cwd=fleet).code == 0
    result = cli("validate", "--base", "HEAD~2", cwd=fleet)
    assert result.code == 1
    assert "mass-removal" in result.out
    result = cli("validate", "--base", "no-such-rev", cwd=fleet)
    assert result.code == 2
    assert "unknown revision 'no-such-rev'" in result.err


def test_mass_removal_counts_the_platforms_own_specs_in_a_subdirectory(tmp_path: Path) -> None:
    """A platform inside a larger repository: the base revision's customers are those
    of its own customers/, not of a customers/ elsewhere in the repository."""
    repo = tmp_path / "repo"
    (repo / "customers").mkdir(parents=True)
    (repo / "customers/elsewhere.yaml").write_text("name: elsewhere\n")  # not the platform's
    git("init", "-q", "-b", "main", cwd=repo)
    assert cli("validate", cwd=repo).code == 2  # no platform there: nothing else is asked
    assert cli("init", "deploy/prod", cwd=repo).code == 0
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "The platform", cwd=repo)
    root = repo / "deploy/prod"
    for name in ("acme", "globex", "initech"):
        assert cli("add", name, cwd=root).code == 0
    for name in ("acme", "globex"):
        (root / f"customers/{name}.yaml").unlink()
    assert cli("compile", cwd=root).code == 0
    result = cli("validate", "--format", "json", cwd=root)
    assert result.code == 1, result.text
    [finding] = json.loads(result.out)["findings"]
    assert "removes 2 customers at once (acme, globex)" in finding["message"]
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "Two at once, on purpose", cwd=repo)
    assert cli("validate", cwd=root).code == 0
    assert cli("validate", "--base", "HEAD~1", cwd=root).code == 1
    result = cli("validate", "--base", "--all", cwd=root)
    assert result.code == 2 and "unknown revision '--all'" in result.err


def test_remove_is_subject_to_the_mass_removal_rule(fleet: Path) -> None:
    (fleet / "customers/globex.yaml").unlink()  # an accident, not yet committed
    spec = fleet / "customers/acme.yaml"
    spec.write_text(spec.read_text() + "lifecycle: retiring\n")
    git("commit", "-qm", "Retire acme", "--", "customers/acme.yaml", cwd=fleet)
    state, before = tree_state(fleet), commit_count(fleet)
    result = cli("remove", "acme", cwd=fleet)
    assert result.code == 1, result.text
    assert "mass-removal" in result.out
    assert tree_state(fleet) == state and commit_count(fleet) == before


# --- no plaintext credential, anywhere ---------------------------------------------------

_CREDENTIAL_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@\"']+:([^\s/@\"']+)@", re.IGNORECASE)
_SECRET_KEY = re.compile(r"(?i)(pass(word|wd)?|token|api[-_]?key|secret|private[-_]?key)$")
_PLACEHOLDER = re.compile(r"^(\{\{.*\}\}|\$\([A-Z_][A-Z0-9_]*\))$")


def credentials_in(text: str, docs: list[Any]) -> list[str]:
    """Plaintext credentials in a file's text and its parsed documents: URLs with a
    password, values under password-like keys, Secrets with data, secret-named env
    variables with a literal value. Template placeholders ({{ .password }}, $(VAR)) are
    references, not values."""
    found = [m.group(0) for m in _CREDENTIAL_URL.finditer(text)
             if not _PLACEHOLDER.match(m.group(1))]
    for doc in docs:
        found += list(_credentials(doc))
    return found


def _credentials(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("kind") == "Secret" and (node.get("data") or node.get("stringData")):
            yield f"Secret {node.get('metadata', {}).get('name')} with data"
        name = node.get("name")
        if isinstance(name, str) and _SECRET_KEY.search(name) and node.get("value"):
            yield f"env {name} = literal"
        for key, value in node.items():
            if (isinstance(value, str) and _SECRET_KEY.search(str(key)) and value
                    and not _PLACEHOLDER.match(value)):
                yield f"{key}: literal"
            yield from _credentials(value)
    elif isinstance(node, list):
        for item in node:
            yield from _credentials(item)


def test_the_scanner_finds_planted_credentials() -> None:
    assert credentials_in("url: postgres://app:hunter2@db:5432/x", [])
    assert credentials_in("", [{"password": "hunter2"}])
    assert credentials_in("", [{"env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}])
    assert credentials_in("", [{"kind": "Secret", "stringData": {"url": "x"}}])
    assert not credentials_in('url: "postgresql://u:{{ .password }}@db/x"',
                              [{"password": "{{ .password }}", "secretName": "acme-app"}])


def test_no_plaintext_credential_anywhere_in_the_tree(platform: Path) -> None:
    set_config(platform, "provider: external-dns", "provider: terraform")
    git("commit", "-qam", "DNS by Terraform", cwd=platform)
    for name in ("acme", "globex"):
        assert cli("add", name, cwd=platform).code == 0
    scanned = []
    for path in sorted(platform.rglob("*")):
        if not path.is_file() or ".git" in path.parts:
            continue
        rel = path.relative_to(platform).as_posix()
        text = path.read_text()
        docs = list(yaml.load_all(text, Loader=GoYamlLoader)) if path.suffix in (
            ".yaml", ".yml", ".json") and "templates" not in path.parts else []
        assert credentials_in(text, docs) == [], rel
        scanned.append(rel)
    assert DNS_FILE in scanned and "gitops/apps/customer-acme/values.yaml" in scanned
    for name in ("acme", "globex"):
        objects = built(platform, name)
        text = yaml.safe_dump_all([m.obj for m in objects])
        assert credentials_in(text, [m.obj for m in objects]) == [], name
