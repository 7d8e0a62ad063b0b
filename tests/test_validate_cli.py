"""`gitops-gen validate` through the CLI: each check broken once, on real temp platforms.

Every test starts from `gitops-gen init` + `gitops-gen add`, breaks one thing the way a
person would (a spec, a chart template, a generated file, the config, the PATH) and
asserts the exact findings (file, customer, rule) and the exit code. helm, kustomize and
the Kubernetes schemas are the real ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.build import GoYamlLoader, build_all
from gitops_gen.toolchain import find_toolchain
from tests.conftest import REPO_ROOT, CliResult, cli, tree_state
from tests.test_validators import install_fake_kubeconform

CHART = "gitops/chart/templates"
DEPLOYMENT = f"{CHART}/deployment.yaml"
JOB = f"{CHART}/job-migrate.yaml"
ACME_VALUES = "gitops/apps/customer-acme/values.yaml"

# (file, customer, rule): what a finding is about; messages are checked where they matter.
Key = tuple[str, str | None, str]


@pytest.fixture
def acme(platform: Path) -> Path:
    """A platform with one committed customer, acme, from platform defaults."""
    result = cli("add", "acme", cwd=platform)
    assert result.code == 0, result.text
    return platform


def findings(root: Path, *args: str, env: dict[str, str] | None = None,
             ) -> tuple[int, list[dict[str, Any]]]:
    """Exit code and findings of `validate --format json`."""
    result = cli("validate", "--format", "json", *args, cwd=root, env=env)
    assert result.code in (0, 1), result.text
    report = json.loads(result.out)
    assert report["summary"]["findings"] == len(report["findings"])
    return result.code, report["findings"]


def keys(found: list[dict[str, Any]]) -> list[Key]:
    return [(f["file"], f["customer"], f["rule"]) for f in found]


def edit(path: Path, pattern: str, replacement: str) -> None:
    """Replace exactly one match of the regex `pattern` (multi-line) in `path`."""
    text, count = re.subn(pattern, replacement, path.read_text(), count=1, flags=re.MULTILINE)
    assert count == 1, f"{pattern!r} not in {path}"
    path.write_text(text)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_spec(root: Path, name: str, body: str) -> None:
    """Hand-write customers/NAME.yaml and compile it, as a person editing specs would."""
    write(root / "customers" / f"{name}.yaml", f"name: {name}\n{body}")
    result = cli("compile", cwd=root)
    assert result.code == 0, result.text


def set_policy(root: Path, policy: str) -> None:
    edit(root / "gitops-gen.yaml", r"^policy: \{\}$", f"policy: {policy}")


def assert_unchanged_and_exit_2(result: CliResult, before: dict[str, str], root: Path) -> None:
    assert result.code == 2, result.text
    assert result.out == ""
    assert tree_state(root) == before


# --- a good tree ------------------------------------------------------------------------


def test_a_good_tree_validates(acme: Path) -> None:
    result = cli("validate", cwd=acme)
    assert result.code == 0, result.text
    assert re.fullmatch(r"ok: 1 customers, [1-9]\d* objects valid\n", result.out), result.out
    assert result.err == ""


def test_this_repository_validates() -> None:
    result = cli("validate", cwd=REPO_ROOT)
    assert result.code == 0, result.text
    assert re.fullmatch(r"ok: [1-9]\d* customers, [1-9]\d* objects valid\n", result.out)


def test_validate_never_writes(acme: Path) -> None:
    """Even with drift, a build error and an untracked file in the tree."""
    edit(acme / ACME_VALUES, r"^replicas: \d+$", "replicas: 7")
    write(acme / CHART / "broken.yaml", "kind: ConfigMap\ndata: {{ .Values.nope.deeper }}\n")
    write(acme / "notes.txt", "scratch\n")
    before = tree_state(acme)
    for fmt in ("text", "json", "junit"):
        assert cli("validate", "--format", fmt, cwd=acme).code == 1
    assert tree_state(acme) == before


# --- policy: each rule broken once ------------------------------------------------------


def test_image_tag_latest_from_the_spec(acme: Path) -> None:
    write_spec(acme, "acme", "image: {tag: latest}\n")
    code, found = findings(acme)
    assert code == 1
    assert keys(found) == [(DEPLOYMENT, "acme", "policy/image-tag"),
                           (JOB, "acme", "policy/image-tag")]
    assert all('uses the "latest" tag' in f["message"] for f in found)


def test_resources_missing_in_the_chart(acme: Path) -> None:
    edit(acme / DEPLOYMENT, r"^ *resources:\n.*lunarfront\.resources.*\n", "")
    code, found = findings(acme)
    assert code == 1
    assert keys(found) == [(DEPLOYMENT, "acme", "policy/resources")]
    assert found[0]["message"].startswith('Deployment/customer-acme/acme: container "app" does '
                                          "not set resources.requests.cpu")


def test_probes_missing_in_the_chart(acme: Path) -> None:
    edit(acme / DEPLOYMENT, r"^( *)readinessProbe:\n(?:\1 .*\n)+", "")
    code, found = findings(acme)
    assert code == 1
    assert keys(found) == [(DEPLOYMENT, "acme", "policy/probes")]
    assert found[0]["message"] == ('Deployment/customer-acme/acme: container "app" has no '
                                   "readinessProbe")


def test_plaintext_secret_data_in_the_chart(acme: Path) -> None:
    write(acme / CHART / "secret.yaml", """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-creds
data:
  password: aHVudGVyMg==
""")
    code, found = findings(acme)
    assert code == 1
    assert keys(found) == [(f"{CHART}/secret.yaml", "acme", "policy/secret-data")]
    assert "data keys: password" in found[0]["message"]
    assert "aHVudGVyMg" not in found[0]["message"]


def test_object_in_another_namespace(acme: Path) -> None:
    write(acme / CHART / "settings.yaml", """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
  namespace: kube-system
data:
  a: b
""")
    code, found = findings(acme)
    assert code == 1
    assert keys(found) == [(f"{CHART}/settings.yaml", "acme", "policy/namespace")]
    assert found[0]["message"] == ('ConfigMap/kube-system/acme-settings: is in namespace '
                                   '"kube-system", expected "customer-acme"')


def test_ingress_hosts_shared_by_two_customers(acme: Path) -> None:
    assert cli("add", "globex", cwd=acme).code == 0
    # A host the chart hard-codes: every customer's Ingress claims it.
    ingress = (acme / CHART / "ingress.yaml").read_text()
    status = ingress.replace("name: {{ .Release.Name | quote }}",
                             'name: {{ printf "%s-status" .Release.Name }}', 1)
    status = status.replace("{{ .Values.host | quote }}", "status.app.lunarfront.tech")
    assert status.count("status.app.lunarfront.tech") == 2
    write(acme / CHART / "ingress-status.yaml", status)
    code, found = findings(acme)
    assert code == 1
    status_file = f"{CHART}/ingress-status.yaml"
    assert keys(found) == [(status_file, "acme", "policy/ingress-hosts"),
                           (status_file, "globex", "policy/ingress-hosts")]
    assert 'host "status.app.lunarfront.tech" is also used by customer(s) "globex"' in (
        found[0]["message"])


def test_a_spec_cannot_take_another_customers_host(acme: Path) -> None:
    """`values: {host: ...}` overrides the subdomain; `add` builds only the new customer,
    so the spec checks must see it, or a colliding host would be committed."""
    before = tree_state(acme)
    result = cli("add", "globex", "--set", "values.host=acme.app.lunarfront.tech", cwd=acme)
    assert_unchanged_and_exit_2(result, before, acme)
    assert ("customers/globex.yaml: values.host: host acme.app.lunarfront.tech is already "
            "used by customer acme") in result.err

    write(acme / "customers/globex.yaml",
          "name: globex\nvalues: {host: acme.app.lunarfront.tech}\n")
    before = tree_state(acme)
    result = cli("validate", cwd=acme)
    assert_unchanged_and_exit_2(result, before, acme)
    assert "values.host: host acme.app.lunarfront.tech is already used" in result.err


def test_switching_a_rule_off_removes_exactly_its_findings(acme: Path) -> None:
    edit(acme / DEPLOYMENT, r"^( *)readinessProbe:\n(?:\1 .*\n)+", "")
    write_spec(acme, "acme", "image: {tag: latest}\n")
    _, found = findings(acme)
    assert {f["rule"] for f in found} == {"policy/probes", "policy/image-tag"}

    set_policy(acme, "{probes: false}")
    code, without = findings(acme)
    assert code == 1
    assert without == [f for f in found if f["rule"] != "policy/probes"]

    edit(acme / "gitops-gen.yaml", r"^policy: .*$", "policy: {probes: false, image-tag: false}")
    assert findings(acme) == (0, [])


def test_unknown_policy_rule_is_an_input_error(acme: Path) -> None:
    set_policy(acme, "{probes: false, no-latest: true}")
    before = tree_state(acme)
    result = cli("validate", cwd=acme)
    assert_unchanged_and_exit_2(result, before, acme)
    assert "unknown policy rule 'no-latest'" in result.err
    assert "image-tag" in result.err  # the valid ids are listed


# --- build, schema and drift ------------------------------------------------------------


@pytest.mark.parametrize(("template", "line", "message"), [
    ("data:\n  a: {{ .Values.nope.deeper }}\n", 6, "nil pointer evaluating"),
    ("data:\n  a: {{ .Values.customer \n", 7, "unclosed action"),
], ids=["nil-value", "syntax"])
def test_chart_template_error(acme: Path, template: str, line: int, message: str) -> None:
    assert cli("add", "globex", cwd=acme).code == 0
    write(acme / CHART / "settings.yaml",
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n" + template)
    code, found = findings(acme)
    assert code == 1
    # One per customer: each app's build fails on its own.
    assert keys(found) == [(f"{CHART}/settings.yaml", "acme", "build"),
                           (f"{CHART}/settings.yaml", "globex", "build")]
    assert [f["line"] for f in found] == [line, line]
    assert all(message in f["message"] for f in found)


def test_values_schema_violation_names_the_customers_values(acme: Path) -> None:
    assert cli("add", "globex", cwd=acme).code == 0
    write_spec(acme, "acme", 'values: {replicas: "two"}\n')
    code, found = findings(acme)
    assert code == 1
    assert keys(found) == [(ACME_VALUES, "acme", "build")]
    lines = (acme / ACME_VALUES).read_text().splitlines()
    assert lines[found[0]["line"] - 1] == "replicas: two"
    assert "at '/replicas': got string, want integer" in found[0]["message"]


def test_wrong_field_type_in_a_built_object(acme: Path) -> None:
    edit(acme / DEPLOYMENT, r"replicas: \{\{ \.Values\.replicas \}\}",
         "replicas: {{ .Values.replicas | quote }}")
    code, found = findings(acme)
    assert code == 1
    assert keys(found) == [(DEPLOYMENT, "acme", "schema")]
    assert found[0]["message"] == ("Deployment/customer-acme/acme: spec.replicas: "
                                   "expected integer, got string")


@pytest.mark.parametrize(("pattern", "replacement", "message"), [
    (r"^spec:$", "spec:\n  bogus: 1", 'spec: unknown field "bogus"'),
    (r"imagePullPolicy:", "imagePullPolicyy:",
     'spec.template.spec.containers[0]: unknown field "imagePullPolicyy"'),
], ids=["spec", "container"])
def test_unknown_field_in_strict_mode(acme: Path, pattern: str, replacement: str,
                                      message: str) -> None:
    edit(acme / DEPLOYMENT, pattern, replacement)
    code, found = findings(acme)
    assert code == 1
    assert keys(found) == [(DEPLOYMENT, "acme", "schema")]
    assert found[0]["message"] == f"Deployment/customer-acme/acme: {message}"


def test_hand_edited_generated_file_is_drift(acme: Path) -> None:
    edit(acme / ACME_VALUES, r"^replicas: 1$", "replicas: 7")
    line = (acme / ACME_VALUES).read_text().splitlines().index("replicas: 7") + 1
    result = cli("validate", cwd=acme)
    assert result.code == 1
    assert result.out.startswith(
        f"{ACME_VALUES}:{line}: acme: drift: differs from what `gitops-gen compile` generates:")
    assert "    -replicas: 7\n    +replicas: 1\n" in result.out
    assert result.out.endswith("1 finding(s) in 1 customer(s)\n")


def test_generated_files_broken_by_hand_are_not_valid_yaml(acme: Path) -> None:
    """Files equal to what compile writes are not parsed again (argocd.py); one that
    differs is, whatever it is: a values file and the Application, here."""
    application = "gitops/argocd/customer-acme.yaml"
    for rel in (ACME_VALUES, application):
        with (acme / rel).open("a") as file:
            file.write("broken: [\n")
    code, found = findings(acme, "--no-cache")
    assert code == 1
    assert {(ACME_VALUES, "acme", "yaml"), (application, "acme", "yaml"),
            (ACME_VALUES, "acme", "drift"), (application, "acme", "drift")} <= set(keys(found))


# --- report formats ---------------------------------------------------------------------


def broken_acme_beside_good_globex(root: Path) -> None:
    assert cli("add", "globex", cwd=root).code == 0
    write_spec(root, "acme", "image: {tag: latest}\n")
    edit(root / DEPLOYMENT, r"replicas: \{\{ \.Values\.replicas \}\}",
         '{{- if eq .Release.Name "acme" }}\n  replicas: "2"\n'
         "  {{- else }}\n  replicas: {{ .Values.replicas }}\n  {{- end }}")


def test_json_and_text_report_the_same_findings(acme: Path) -> None:
    broken_acme_beside_good_globex(acme)
    result = cli("validate", "--format", "json", cwd=acme)
    assert result.code == 1
    report = json.loads(result.out)
    assert keys(report["findings"]) == [(DEPLOYMENT, "acme", "policy/image-tag"),
                                        (DEPLOYMENT, "acme", "schema"),
                                        (JOB, "acme", "policy/image-tag")]
    summary = report["summary"]
    assert (summary["ok"], summary["findings"], summary["customers"]) == (False, 3, 2)
    text = cli("validate", cwd=acme)
    assert text.code == 1
    assert text.out.splitlines() == [
        f"{f['file']}: {f['customer']}: {f['rule']}: {f['message']}"
        for f in report["findings"]] + ["3 finding(s) in 1 customer(s)"]


def test_junit_has_a_failure_for_the_broken_customer(acme: Path) -> None:
    broken_acme_beside_good_globex(acme)
    result = cli("validate", "--format", "junit", cwd=acme)
    assert result.code == 1
    suite = ET.fromstring(result.out).find("testsuite")
    assert suite is not None
    cases = {case.get("classname"): case for case in suite.iter("testcase")}
    assert sorted(cases) == ["acme", "globex", "platform"]
    failures = cases["acme"].findall("failure")
    assert [(f.get("file"), f.get("type")) for f in failures] == [
        (DEPLOYMENT, "policy/image-tag"), (DEPLOYMENT, "schema"), (JOB, "policy/image-tag")]
    assert cases["globex"].findall("failure") == []
    assert suite.get("failures") == "1"


# --- YAML 1.1 on the way to the cluster -------------------------------------------------


def test_spec_strings_stay_strings_in_the_built_objects(platform: Path) -> None:
    result = cli("add", "nordics", "--set", "env.COUNTRY=NO", "--set", "env.ANSWER=y",
                 "--set", "env.SCALE=1e3", "--set", "env.OCTAL=0755", cwd=platform)
    assert result.code == 0, result.text
    # Unquoted, Go's YAML 1.1 would read these as false, true, 1000.0 and 493.
    assert yaml.load("[NO, y, 1e3, 0755]", Loader=GoYamlLoader) == [False, True, 1000.0, 493]

    app_file = platform / "gitops/argocd/customer-nordics.yaml"
    app = yaml.load(app_file.read_text(), Loader=GoYamlLoader)
    built = build_all(platform, {"nordics": app}, find_toolchain({}), "1.37", 1)["nordics"]
    assert built.findings == []
    workloads = [m for m in built.manifests
                 if m.kind == "Deployment" or m.name == "nordics-migrate"]
    assert sorted(m.kind for m in workloads) == ["Deployment", "Job"]
    for workload in workloads:
        container = workload.obj["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert {k: env[k] for k in ("COUNTRY", "ANSWER", "SCALE", "OCTAL")} == {
            "COUNTRY": "NO", "ANSWER": "y", "SCALE": "1e3", "OCTAL": "0755"}, workload.kind


def test_set_keeps_the_text_of_string_fields(platform: Path) -> None:
    """Fields the spec schema types as strings take `--set` text as written; others are
    YAML scalars (`1.10` would be the number 1.1, which the spec refuses as a tag)."""
    result = cli("add", "acme", "--set", "image.tag=1.10", "--set", "replicas=3", cwd=platform)
    assert result.code == 0, result.text
    spec = yaml.load((platform / "customers/acme.yaml").read_text(), Loader=GoYamlLoader)
    assert spec["image"] == {"tag": "1.10"}
    assert spec["replicas"] == 3


# --- tools ------------------------------------------------------------------------------


def bin_dir_with(tmp_path: Path, *tools: Path) -> str:
    """A PATH of one directory holding only `tools` (git, python, ...)."""
    bin_dir = tmp_path / "only-bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in tools:
        (bin_dir / tool.name).symlink_to(tool)
    return str(bin_dir)


def which(name: str) -> Path:
    found = shutil.which(name)
    assert found, f"{name} not on PATH"
    return Path(found)


@pytest.mark.parametrize(("present", "message"), [
    ((), "helm not found"),
    (("helm",), "neither kustomize nor kubectl found"),
], ids=["helm", "kustomize"])
def test_missing_tool_says_how_to_get_it(acme: Path, tmp_path: Path,
                                         present: tuple[str, ...], message: str) -> None:
    # Tests run with the pinned tools on PATH and in the cache: hide both.
    path = bin_dir_with(tmp_path, which("git"), Path(sys.executable),
                        *(which(t) for t in present))
    empty_cache = tmp_path / "empty-cache"
    empty_cache.mkdir()
    before = tree_state(acme)
    result = cli("validate", cwd=acme, env={"PATH": path, "GITOPS_GEN_CACHE": str(empty_cache)})
    assert_unchanged_and_exit_2(result, before, acme)
    assert message in result.err
    assert "run `gitops-gen tools install`" in result.err


def path_without_kubeconform() -> str:
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if not (Path(d) / "kubeconform").exists())


def test_kubeconform_backend_missing_says_how_to_get_it(acme: Path) -> None:
    before = tree_state(acme)
    result = cli("validate", "--backend", "kubeconform", cwd=acme,
                 env={"PATH": path_without_kubeconform()})
    assert_unchanged_and_exit_2(result, before, acme)
    assert "kubeconform is not on PATH" in result.err
    assert "https://github.com/yannh/kubeconform/releases" in result.err
    assert "embedded" in result.err


def test_kubeconform_and_embedded_backends_agree_through_the_cli(acme: Path,
                                                                 tmp_path: Path) -> None:
    """With the real kubeconform when it is on PATH; otherwise with the stand-in of
    test_validators (kubeconform is not installable here: not on PyPI, npm or Debian)."""
    path = os.environ["PATH"]
    if shutil.which("kubeconform") is None:
        path = f"{install_fake_kubeconform(tmp_path / 'bin').parent}{os.pathsep}{path}"
    env = {"PATH": path}
    edit(acme / DEPLOYMENT, r"imagePullPolicy:", "imagePullPolicyy:")
    edit(acme / DEPLOYMENT, r"replicas: \{\{ \.Values\.replicas \}\}",
         "replicas: {{ .Values.replicas | quote }}")
    embedded = cli("validate", "--backend", "embedded", "--format", "json", cwd=acme, env=env)
    via_auto = cli("validate", "--format", "json", cwd=acme, env=env)
    assert embedded.code == via_auto.code == 1
    assert json.loads(via_auto.out)["findings"] == json.loads(embedded.out)["findings"]
    assert len(json.loads(embedded.out)["findings"]) == 2
    assert "schema (kubeconform)" in json.loads(via_auto.out)["summary"]["checks"]
    assert "schema (embedded)" in json.loads(embedded.out)["summary"]["checks"]
