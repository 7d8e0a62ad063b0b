"""Shared fixtures: real platform repos in temp dirs, driven through the real CLI."""

from __future__ import annotations

import hashlib
import os
import pty
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitops_gen.toolchain import Toolchain, find_toolchain
from tests.tinyrepo import CHART, OVERLAY, write_tree

REPO_ROOT = Path(__file__).resolve().parent.parent
# Tests replace HOME (see below); the pinned tools stay where setup installed them.
TOOL_CACHE = os.environ.get("GITOPS_GEN_CACHE") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gitops-gen"
)

# What `add acme` writes and commits on an `init` platform: its spec and generated files.
ACME_FILES = [
    "customers/acme.yaml",
    "gitops/apps/customer-acme/kustomization.yaml",
    "gitops/apps/customer-acme/namespace.yaml",
    "gitops/apps/customer-acme/values.yaml",
    "gitops/argocd/customer-acme.yaml",
]


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> CliResult:
    """Run `gitops-gen ARGS` as a user would: a new process, no TTY."""
    proc = subprocess.run(
        [sys.executable, "-m", "gitops_gen", *args],
        cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})}, timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def git(*args: str, cwd: Path) -> str:
    """git as the test's own hand (a person with an identity, unlike gitops-gen's runs)."""
    identity = ["-c", "user.name=Test Person", "-c", "user.email=test@example.com"]
    return subprocess.run(["git", *identity, *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


def on_a_terminal(root: Path, *args: str, stream: str,
                  env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(exit code, what it wrote to the terminal, what it wrote to the other stream) of
    `gitops-gen ARGS` with `stream` ("stdout" or "stderr") on a real pseudo-terminal."""
    leader, follower = pty.openpty()
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, stream: follower}
    with subprocess.Popen([sys.executable, "-m", "gitops_gen", *args], cwd=root,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})},
                          **streams) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        other = proc.stderr if stream == "stdout" else proc.stdout
        assert other is not None
        rest = other.read().decode()
        code = proc.wait()
    return code, b"".join(chunks).decode(), rest


def tree_state(root: Path) -> dict[str, str]:
    """Every file's sha256 (outside .git), HEAD, the index and the status: 'nothing changed'
    compares equal only if really nothing changed."""
    files = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts
    }
    files["<HEAD>"] = git("rev-parse", "-q", "--verify", "HEAD", cwd=root).strip() if (
        subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=root,
                       capture_output=True).returncode == 0) else "<unborn>"
    files["<index>"] = git("ls-files", "-s", cwd=root)
    files["<status>"] = git("status", "--porcelain", cwd=root)
    return files


def commit_files(root: Path, rev: str = "HEAD") -> list[str]:
    out = git("show", "--name-only", "--format=", rev, cwd=root)
    return sorted(line for line in out.splitlines() if line)


def commit_count(root: Path) -> int:
    return int(git("rev-list", "--count", "HEAD", cwd=root).strip())


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Path]:
    """A fresh platform repo made by `gitops-gen init`, with its initial commit."""
    root = tmp_path / "platform"
    result = cli("init", str(root), cwd=tmp_path)
    assert result.code == 0, result.text
    yield root


@pytest.fixture(scope="session")
def platform_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `gitops-gen init` platform per test session, never written to: copy it (with
    `platform_copy`) where `init`'s ~2 s per test would add up, e.g. over a corpus."""
    base = tmp_path_factory.mktemp("template")
    home = base / "home"
    home.mkdir()
    env = {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    result = cli("init", str(base / "platform"), cwd=base, env=env)
    assert result.code == 0, result.text
    return base / "platform"


@pytest.fixture
def platform_copy(platform_template: Path, tmp_path: Path) -> Path:
    """What the `platform` fixture gives (a fresh platform repo with its initial commit),
    copied from the session's template."""
    root = tmp_path / "platform"
    shutil.copytree(platform_template, root, symlinks=True)
    return root


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty build cache for this test; the pinned tools stay reachable through it."""
    root = tmp_path / "cache"
    root.mkdir()
    if (Path(TOOL_CACHE) / "tools").is_dir():
        (root / "tools").symlink_to(Path(TOOL_CACHE) / "tools")
    monkeypatch.setenv("GITOPS_GEN_CACHE", str(root))
    return root / "builds"


@pytest.fixture(scope="session")
def tools() -> Toolchain:
    """The helm and kustomize the tests build with (PATH, then the pinned cache)."""
    return find_toolchain({})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """tests/tinyrepo.py's chart and acme overlay, written to a temp dir."""
    write_tree(tmp_path / "gitops" / "chart", CHART)
    write_tree(tmp_path / "gitops" / "apps" / "customer-acme", OVERLAY)
    return tmp_path


@pytest.fixture(autouse=True)
def _isolated_git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No global git config from the machine: identity must come from the platform config,
    as on a CI runner."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GITOPS_GEN_CACHE", TOOL_CACHE)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
