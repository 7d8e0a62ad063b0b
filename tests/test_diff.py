"""`gitops-gen diff` through the CLI on real git repos, with the real helm and kustomize."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.toolchain import find_toolchain
from tests.conftest import REPO_ROOT, cli, git, on_a_terminal, tree_state

IMAGE = "registry.lunarfront.tech/ryan/lunarfront-app"
ADDED_KINDS = ["Application", "ConfigMap", "Deployment", "ExternalSecret", "Ingress", "Job",
               "Namespace", "Password", "Service"]
ANSI = "\x1b["


def diff_records(root: Path, *args: str) -> list[dict[str, Any]]:
    result = cli("diff", "--format", "json", *args, cwd=root)
    assert result.code == 0, result.text
    records: list[dict[str, Any]] = json.loads(result.out)
    return records


def changed_lines(diff: str) -> list[str]:
    """The -/+ lines of a unified diff without its headers, indentation dropped
    (`-    image: x` -> `-image: x`)."""
    return [line[0] + line[1:].strip() for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))]


def idents(records: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(r["customer"], r["kind"], r["name"], r["change"]) for r in records]


def commit_all(root: Path, message: str) -> None:
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", message, cwd=root)


@pytest.fixture
def fleet(platform: Path) -> Path:
    """The platform with customers acme and globex committed."""
    for name in ("acme", "globex"):
        result = cli("add", name, cwd=platform)
        assert result.code == 0, result.text
    return platform


def set_tag(root: Path, customer: str, tag: str) -> None:
    spec = root / f"customers/{customer}.yaml"
    spec.write_text(spec.read_text() + f'image:\n  tag: "{tag}"\n')
    result = cli("compile", cwd=root)
    assert result.code == 0, result.text


def add_service_label(root: Path) -> None:
    template = root / "gitops/chart/templates/service.yaml"
    text = template.read_text()
    assert text.count("\n  labels:\n") == 1
    template.write_text(text.replace("\n  labels:\n", "\n  labels:\n    example.com/team: web\n"))


def logging_helm(root: Path) -> Path:
    """Point `tools.helm` at a script that logs each call, then runs the real helm: which
    customers get built shows in the log (`--name-template NAME`)."""
    log = root.parent / "helm-calls.log"
    wrapper = root.parent / "helm-logged"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n'
                       f'exec "{find_toolchain({}).helm}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    config = root / "gitops-gen.yaml"
    text = config.read_text()
    assert text.count("  helm: null") == 1
    config.write_text(text.replace("  helm: null", f"  helm: {wrapper}"))
    commit_all(root, "Log helm calls")
    return log


def test_no_change_is_no_difference_and_exit_0(fleet: Path) -> None:
    state = tree_state(fleet)
    assert diff_records(fleet) == []
    result = cli("diff", "--exit-code", cwd=fleet)
    assert result.code == 0, result.text
    assert "no differences from HEAD" in result.out
    assert tree_state(fleet) == state


def test_a_spec_edited_since_compile_is_noted_not_diffed(fleet: Path) -> None:
    """The diff is of the tree (what Argo CD gets): a spec edit not compiled yet changes
    nothing there, and "no differences" alone misled; stderr now says why, stdout stays
    the report, and the exit code is the diff's."""
    (fleet / "customers/acme.yaml").write_text("name: acme\ntier: large\n")
    edited = cli("diff", "--format", "json", cwd=fleet)
    assert (edited.code, json.loads(edited.out)) == (0, [])
    assert "note: 1 generated file(s) differ from what `gitops-gen compile` makes" in (
        edited.err)
    (fleet / "customers/acme.yaml").write_text("name: acme\ntier: [\n")
    broken = cli("diff", "--format", "json", cwd=fleet)
    assert (broken.code, json.loads(broken.out)) == (0, [])
    assert "note: the specs do not compile (customers/acme.yaml:3: malformed YAML" in (
        broken.err)
    assert cli("diff", cwd=fleet).code == 0
    git("checkout", "-q", "--", "customers/acme.yaml", cwd=fleet)
    assert "note" not in cli("diff", cwd=fleet).err


def test_tag_bump_shows_exactly_the_image_lines_and_rebuilds_only_that_customer(
    fleet: Path,
) -> None:
    log = logging_helm(fleet)
    set_tag(fleet, "acme", "2.0.0")
    state = tree_state(fleet)
    result = cli("diff", "--format", "json", "-v", cwd=fleet)
    assert result.code == 0, result.text
    records = json.loads(result.out)
    assert idents(records) == [("acme", "Deployment", "acme", "changed"),
                               ("acme", "Job", "acme-migrate", "changed")]
    for record in records:
        assert record["namespace"] == "customer-acme"
        assert changed_lines(record["diff"]) == [
            f"-image: {IMAGE}:1.0.0", f"+image: {IMAGE}:2.0.0"]
    assert "rebuilt (inputs differ from HEAD): acme\n" in result.err
    assert "not rebuilt (inputs unchanged): globex\n" in result.err
    calls = log.read_text().splitlines()
    assert len(calls) == 2  # acme at HEAD and in the working tree, globex never
    assert all("--name-template acme " in call for call in calls)
    assert tree_state(fleet) == state


def test_new_customer_shows_all_its_objects_as_added(fleet: Path) -> None:
    result = cli("add", "initech", "--no-commit", cwd=fleet)
    assert result.code == 0, result.text
    records = diff_records(fleet)
    assert idents(records) == [("initech", kind, name, "added") for kind, name in [
        ("Application", "customer-initech"), ("ConfigMap", "initech-db-init"),
        ("Deployment", "initech"), ("ExternalSecret", "initech-app"),
        ("ExternalSecret", "initech-database"), ("ExternalSecret", "initech-db-admin"),
        ("Ingress", "initech"), ("Job", "initech-db-init"), ("Job", "initech-migrate"),
        ("Namespace", "customer-initech"), ("Password", "initech-app-jwt-secret"),
        ("Password", "initech-database-password"), ("Service", "initech")]]
    for record in records:
        lines = record["diff"].splitlines()
        assert lines[:2] == ["--- /dev/null", f"+++ b/{record['kind']}/" + "/".join(
            p for p in (record["namespace"], record["name"]) if p)]
        assert all(line.startswith(("+", "@@")) for line in lines[2:])
    assert {r["namespace"] for r in records} == {"argocd", "customer-initech", None}


def test_removed_customer_shows_all_its_objects_as_removed(fleet: Path) -> None:
    result = cli("remove", "globex", "--force", "--no-commit", cwd=fleet)
    assert result.code == 0, result.text
    records = diff_records(fleet)
    assert sorted({r["kind"] for r in records}) == ADDED_KINDS
    assert {(r["customer"], r["change"]) for r in records} == {("globex", "removed")}
    assert all(r["diff"].splitlines()[1] == "+++ /dev/null" for r in records)


def test_chart_template_change_shows_every_customer_it_touches(fleet: Path) -> None:
    add_service_label(fleet)
    records = diff_records(fleet)
    assert idents(records) == [("acme", "Service", "acme", "changed"),
                               ("globex", "Service", "globex", "changed")]
    for record in records:
        assert changed_lines(record["diff"]) == [
            "+example.com/team: web"]
    markdown = cli("diff", "--format", "markdown", cwd=fleet)
    assert markdown.code == 0, markdown.text
    assert markdown.out.count("<details>") == markdown.out.count("</details>") == 2
    assert "<summary><b>acme</b>: 1 changed</summary>" in markdown.out
    assert "<summary><b>globex</b>: 1 changed</summary>" in markdown.out
    assert markdown.out.count("```diff\n") == 2


def test_base_can_be_any_revision(fleet: Path) -> None:
    set_tag(fleet, "acme", "2.0.0")
    commit_all(fleet, "Bump acme")
    assert diff_records(fleet) == []
    records = diff_records(fleet, "--base", "HEAD~1")
    assert idents(records) == [("acme", "Deployment", "acme", "changed"),
                               ("acme", "Job", "acme-migrate", "changed")]
    # Before globex existed, all of globex is added (and acme's tag differs too).
    records = diff_records(fleet, "--base", "HEAD~2")
    assert {r["change"] for r in records if r["customer"] == "globex"} == {"added"}


def test_unknown_revision_is_exit_2_with_a_clear_message(fleet: Path) -> None:
    add_service_label(fleet)
    state = tree_state(fleet)
    for rev in ("no-such-branch", "--output=/tmp/x", "HEAD~40"):
        result = cli("diff", f"--base={rev}", cwd=fleet)
        assert result.code == 2, result.text
        assert f"unknown revision {rev!r}: no such commit" in result.err
        assert result.out == ""
    assert tree_state(fleet) == state


def test_exit_code_option_is_1_only_when_something_differs(fleet: Path) -> None:
    assert cli("diff", "--exit-code", cwd=fleet).code == 0
    add_service_label(fleet)
    assert cli("diff", cwd=fleet).code == 0
    result = cli("diff", "--exit-code", cwd=fleet)
    assert result.code == 1, result.text
    assert "2 changed, 0 added, 0 removed object(s) in 2 customer(s)" in result.out


def run_on_a_terminal(root: Path, *args: str, env: dict[str, str]) -> str:
    """stdout of `gitops-gen ARGS` when stdout is a terminal (a real pseudo-terminal)."""
    code, out, err = on_a_terminal(root, *args, stream="stdout", env=env)
    assert code == 0, err
    return out


def test_text_is_coloured_only_on_a_terminal_without_no_color(fleet: Path) -> None:
    add_service_label(fleet)
    coloured = run_on_a_terminal(fleet, "diff", env={"NO_COLOR": ""})
    assert f"{ANSI}32m+    example.com/team: web" in coloured
    assert ANSI not in run_on_a_terminal(fleet, "diff", env={"NO_COLOR": "1"})
    piped = cli("diff", cwd=fleet, env={"NO_COLOR": ""})
    assert "+    example.com/team: web" in piped.out
    assert ANSI not in piped.out


def test_noise_is_hidden_by_default_and_shown_on_request(fleet: Path) -> None:
    helpers = fleet / "gitops/chart/templates/_helpers.tpl"
    text = helpers.read_text()
    label = "app.kubernetes.io/part-of: lunarfront\n"
    assert text.count(label) == 1
    chart_label = ('helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version '
                   '| quote }}\n')
    helpers.write_text(text.replace(label, label + chart_label))
    commit_all(fleet, "Label objects with the chart version")
    chart = fleet / "gitops/chart/Chart.yaml"
    chart.write_text(chart.read_text().replace("version: 0.1.0", "version: 0.2.0"))

    result = cli("diff", "--exit-code", cwd=fleet)
    assert result.code == 0, result.text
    assert "no differences from HEAD" in result.out
    assert "differ only in ignored noise (--no-ignore-noise shows them)" in result.out
    records = diff_records(fleet, "--no-ignore-noise")
    assert {r["kind"] for r in records} == {"ConfigMap", "Deployment", "ExternalSecret",
                                            "Ingress", "Job", "Password", "Service"}
    for record in records:
        lines = set(changed_lines(record["diff"]))
        assert lines == {"-helm.sh/chart: lunarfront-0.1.0", "+helm.sh/chart: lunarfront-0.2.0"}


def test_a_build_that_fails_is_a_finding_exit_1_and_stdout_stays_json(fleet: Path) -> None:
    template = fleet / "gitops/chart/templates/service.yaml"
    template.write_text(template.read_text() + "  bad: {{ .Values.nope.deeper }}\n")
    result = cli("diff", "--format", "json", cwd=fleet)
    assert result.code == 1, result.text
    assert json.loads(result.out) == []
    assert "gitops/chart/templates/service.yaml" in result.err
    assert ": acme: build: " in result.err and ": globex: build: " in result.err


def test_platform_in_a_subdirectory_and_a_base_before_it_existed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / "README.md").write_text("infrastructure\n")
    commit_all(repo, "Start")
    result = cli("init", "deploy/platform", cwd=repo)
    assert result.code == 0, result.text
    root = repo / "deploy/platform"
    # the repository is the user's: init commits nothing in it, and says so
    assert "nothing committed (an existing git repository)" in result.out
    assert git("status", "--porcelain", cwd=repo) == "?? deploy/\n"
    commit_all(repo, "The platform")
    assert cli("add", "acme", cwd=root).code == 0
    add_service_label(root)
    records = diff_records(root)
    assert idents(records) == [("acme", "Service", "acme", "changed")]
    records = diff_records(root, "--base", "HEAD~2")  # only README.md then
    assert {r["change"] for r in records} == {"added"}
    assert sorted({r["kind"] for r in records if r["customer"] == "acme"}) == ADDED_KINDS
    assert ("AppProject", "added") in {(r["kind"], r["change"]) for r in records
                                       if r["customer"] is None}
    assert git("worktree", "list", "--porcelain", cwd=repo).count("worktree ") == 1


def test_not_a_git_repository_is_exit_2(tmp_path: Path) -> None:
    result = cli("init", "p", "--no-commit", cwd=tmp_path)
    assert result.code == 0, result.text
    root = tmp_path / "p"
    shutil.rmtree(root / ".git")
    result = cli("diff", cwd=root)
    assert result.code == 2
    assert "not inside a git repository" in result.err


def test_ci_keeps_the_pull_request_diff_as_an_artifact() -> None:
    flow = yaml.safe_load((REPO_ROOT / ".gitea/workflows/ci.yml").read_text())
    assert "pull_request" in flow[True]  # YAML 1.1 reads the key `on` as a boolean
    steps = [s for job in flow["jobs"].values() for s in job["steps"]]
    run = next(s for s in steps if "gitops-gen diff" in str(s.get("run", "")))
    assert 'gitops-gen diff --base "origin/$BASE_REF" --format markdown > diff.md' in run["run"]
    assert run["env"]["BASE_REF"] == "${{ github.base_ref }}"
    assert "pull_request" in run["if"]
    upload = next(s for s in steps if (s.get("with") or {}).get("path") == "diff.md")
    assert str(upload["uses"]).startswith("actions/upload-artifact@")
    assert "always()" in upload["if"]
