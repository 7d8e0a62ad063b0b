"""`gitops-gen validate` as a pre-commit hook, run by the real pre-commit framework.

Two ways in: the `repo: local` config that `gitops-gen init` scaffolds (installed with
`pre-commit install`, then plain `git commit`), and this repository's published
`.pre-commit-hooks.yaml` through `pre-commit try-repo`, which pip-installs gitops-gen
into pre-commit's own environment (from PyPI: ~10-15 s, once per test run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, cli, commit_count, git, tree_state

VENV_BIN = Path(sys.executable).parent  # not resolved: the venv's bin, not the base python's
PRE_COMMIT = str(VENV_BIN / "pre-commit")
ACME_VALUES = "gitops/apps/customer-acme/values.yaml"

Hooked = tuple[Path, dict[str, str]]


def run(*cmd: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)


def commit(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`git commit` as a person does it: the installed hook runs."""
    identity = ["-c", "user.name=Test Person", "-c", "user.email=test@example.com"]
    return run("git", *identity, "commit", *args, cwd=root, env=env)


def hook_env(tmp_path: Path, *, venv_on_path: bool) -> dict[str, str]:
    """pre-commit's cache in the test's temp dir; for `language: system`, gitops-gen
    resolves from PATH, so the venv's bin goes first (as `source scripts/setup.sh` does)."""
    path = os.environ["PATH"]
    if venv_on_path:
        path = f"{VENV_BIN}{os.pathsep}{path}"
    return {**os.environ, "PATH": path, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}


@pytest.fixture
def hooked(platform: Path, tmp_path: Path) -> Hooked:
    """The `platform` fixture with acme committed and the scaffolded hook installed."""
    config = yaml.safe_load((platform / ".pre-commit-config.yaml").read_text())
    [hook] = [h for repo in config["repos"] if repo["repo"] == "local" for h in repo["hooks"]]
    assert (hook["entry"], hook["language"]) == ("gitops-gen validate", "system")
    env = hook_env(tmp_path, venv_on_path=True)
    result = run(PRE_COMMIT, "install", cwd=platform, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (platform / ".git/hooks/pre-commit").is_file()
    # gitops-gen commits with `git commit`, so its own commit runs the hook too.
    added = cli("add", "acme", cwd=platform, env=env)
    assert added.code == 0, added.text
    return platform, env


def test_a_good_commit_passes(hooked: Hooked) -> None:
    root, env = hooked
    before = commit_count(root)
    assert cli("add", "globex", "--no-commit", cwd=root, env=env).code == 0
    git("add", "-A", cwd=root)
    result = commit(root, env, "-m", "Add globex")
    # git runs hooks with their stdout sent to its stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^gitops-gen validate\.+Passed$", result.stderr, re.MULTILINE)
    assert commit_count(root) == before + 1
    assert git("status", "--porcelain", cwd=root) == ""


def hand_edit(root: Path) -> None:
    path = root / ACME_VALUES
    text = path.read_text()
    assert "replicas: 1\n" in text
    path.write_text(text.replace("replicas: 1\n", "replicas: 9\n"))


def latest_tag(root: Path) -> None:
    (root / "customers/acme.yaml").write_text("name: acme\nimage: {tag: latest}\n")
    assert cli("compile", cwd=root).code == 0


def invalid_spec(root: Path) -> None:
    (root / "customers/acme.yaml").write_text("name: acme\nreplicas: many\n")


@pytest.mark.parametrize(("breakage", "expected"), [
    (hand_edit, f"{ACME_VALUES}:8: acme: drift: differs from what `gitops-gen compile`"),
    (latest_tag, 'acme: policy/image-tag: Deployment/customer-acme/acme: container "app" '
                 'image "registry.lunarfront.tech/ryan/lunarfront-app:latest"'),
    (invalid_spec, "customers/acme.yaml:2: replicas: must be of type integer"),
], ids=["hand-edited-generated-file", "policy-finding", "invalid-spec"])
def test_a_bad_commit_is_blocked(hooked: Hooked, breakage: Callable[[Path], None],
                                 expected: str) -> None:
    root, env = hooked
    breakage(root)
    head = git("rev-parse", "HEAD", cwd=root)

    checked = run(PRE_COMMIT, "run", "--all-files", cwd=root, env=env)
    assert checked.returncode == 1
    assert expected in checked.stdout

    before = tree_state(root)
    result = commit(root, env, "-am", "Sneak it in")
    assert result.returncode == 1
    assert re.search(r"^gitops-gen validate\.+Failed$", result.stderr, re.MULTILINE)
    assert expected in result.stderr
    assert git("rev-parse", "HEAD", cwd=root) == head
    # Blocked, not lost: tree, index and status exactly as before the attempt.
    assert tree_state(root) == before


def repository_snapshot(dest: Path) -> Path:
    """This repository's files as they are now (committed or not), as a fresh git repo:
    try-repo then installs exactly this working tree, and nothing in it is touched."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for rel in sorted({p for p in listed.decode().split("\0") if p}):
        source = REPO_ROOT / rel
        if source.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
    git("init", "-q", cwd=dest)
    git("add", "-A", cwd=dest)
    git("commit", "-q", "-m", "snapshot", cwd=dest)
    return dest


def test_the_published_hook_through_try_repo(platform: Path, tmp_path: Path) -> None:
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["gitops-gen-validate"]
    source = repository_snapshot(tmp_path / "gitops-gen-src")
    # Only pre-commit's own environment provides gitops-gen: the venv is not on PATH.
    env = hook_env(tmp_path, venv_on_path=False)
    assert cli("add", "acme", cwd=platform).code == 0
    try_repo = (PRE_COMMIT, "try-repo", str(source), "gitops-gen-validate", "--all-files")

    good = run(*try_repo, cwd=platform, env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"^gitops-gen validate\.+Passed$", good.stdout, re.MULTILINE)

    hand_edit(platform)
    bad = run(*try_repo, cwd=platform, env=env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"{ACME_VALUES}:8: acme: drift:" in bad.stdout
