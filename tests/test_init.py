"""`gitops-gen init` from a source checkout and from an installed wheel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, cli, commit_files, git

PLATFORM_FILES = [
    ".gitea/workflows/validate.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "README.md",
    "customers/.gitkeep",
    "gitops-gen.yaml",
    "gitops/argocd/project.yaml",
    "gitops/chart/Chart.yaml",
    "gitops/chart/values.schema.json",
    "schemas/customer.schema.json",
    "templates/values.yaml.j2",
]


def test_init_scaffolds_a_committed_platform_repo(tmp_path: Path) -> None:
    result = cli("init", "p", "--platform", "demo", "--domain", "demo.example.com", cwd=tmp_path)
    assert result.code == 0, result.text
    root = tmp_path / "p"
    committed = commit_files(root)
    assert set(PLATFORM_FILES) <= set(committed)
    assert git("status", "--porcelain", cwd=root) == ""
    config = (root / "gitops-gen.yaml").read_text()
    assert "platform: demo\n" in config and "domain: demo.example.com\n" in config
    assert "# Customers are served at" in config  # comments survive the edit


def test_init_scaffolds_what_this_repo_uses(tmp_path: Path) -> None:
    assert cli("init", "p", cwd=tmp_path).code == 0
    for rel in ("gitops-gen.yaml", "templates/application.yaml.j2", "gitops/chart/values.yaml",
                "schemas/customer.schema.json", ".pre-commit-config.yaml"):
        assert (tmp_path / "p" / rel).read_bytes() == (REPO_ROOT / rel).read_bytes(), rel


def test_init_refuses_an_existing_platform(tmp_path: Path) -> None:
    assert cli("init", "p", cwd=tmp_path).code == 0
    result = cli("init", "p", cwd=tmp_path)
    assert result.code == 2
    assert "already a platform repo" in result.err


def test_init_never_overwrites_files(tmp_path: Path) -> None:
    (tmp_path / "p/templates").mkdir(parents=True)
    (tmp_path / "p/templates/values.yaml.j2").write_text("mine\n")
    result = cli("init", "p", cwd=tmp_path)
    assert result.code == 2
    assert "would overwrite existing files: templates/values.yaml.j2" in result.err
    assert (tmp_path / "p/templates/values.yaml.j2").read_text() == "mine\n"


def test_init_commits_what_it_wrote_and_not_what_was_there(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p/notes.txt").write_text("mine, not the scaffold's\n")
    assert cli("init", "p", cwd=tmp_path).code == 0
    root = tmp_path / "p"
    assert "notes.txt" not in commit_files(root) and set(PLATFORM_FILES) <= set(
        commit_files(root))
    assert git("status", "--porcelain", cwd=root) == "?? notes.txt\n"


def users_repository(root: Path, file: str) -> Path:
    """A repository of the user's at `root`, with one commit of `file`."""
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    (root / file).write_text("mine\n")
    git("add", file, cwd=root)
    git("commit", "-qm", "mine", cwd=root)
    return root


def test_init_in_an_existing_repository_commits_nothing_and_says_so(tmp_path: Path) -> None:
    """In a repository of the user's, init writes and does not commit (nor with
    --no-commit): it said only "next: add", and `add` then committed a customer whose
    chart and config were in no commit."""
    root = users_repository(tmp_path / "p", "notes.txt")
    result = cli("init", ".", cwd=root)
    assert result.code == 0, result.text
    assert ("nothing committed (an existing git repository): commit its files before "
            "`add`") in result.out
    assert commit_files(root) == ["notes.txt"]
    own = cli("init", "q", "--no-commit", cwd=tmp_path)
    assert own.code == 0 and "nothing committed (--no-commit)" in own.out, own.text


def test_init_in_a_monorepo_commits_nothing_and_says_where_hooks_go(tmp_path: Path) -> None:
    """A new subdirectory of the user's repository: init committed its scaffold on the
    user's branch (it took the directory's being new for its having made the repository),
    and its pre-commit config and workflows sat where neither pre-commit nor Gitea reads
    them, unsaid."""
    root = users_repository(tmp_path / "mono", "app.txt")
    result = cli("init", "deploy/prod", cwd=root)
    assert result.code == 0, result.text
    assert commit_files(root) == ["app.txt"]
    assert not (root / "deploy/prod/.git").exists()  # no repository inside the user's
    assert "nothing committed (an existing git repository)" in result.out
    assert (f"note: deploy/prod is a subdirectory of the repository at {root}: pre-commit "
            "and Gitea read .pre-commit-config.yaml and .gitea/workflows/ there only. Move "
            "them up, running gitops-gen with `-C deploy/prod` in them.") in result.out
    git("add", "-A", cwd=root)
    git("commit", "-qm", "the platform", cwd=root)
    added = cli("-C", "deploy/prod", "add", "acme", cwd=root)
    assert added.code == 0 and "warning" not in added.err, added.text
    assert "deploy/prod/customers/acme.yaml" in commit_files(root)


def test_init_refused_by_the_schema_leaves_nothing_behind(tmp_path: Path) -> None:
    """A --platform or --domain the platform schema refuses: exit 2, but the whole
    scaffold stayed (uncommitted, no repository), and the next init said "already a
    platform repo"."""
    result = cli("init", "p", "--platform", "Bad_Name", cwd=tmp_path)
    assert result.code == 2 and "platform: does not match the pattern" in result.err
    assert not (tmp_path / "p").exists()
    users = users_repository(tmp_path / "mine", "notes.txt")
    result = cli("init", ".", "--domain", "not a domain", cwd=users)
    assert result.code == 2 and "domain: does not match the pattern" in result.err
    assert sorted(p.name for p in users.iterdir()) == [".git", "notes.txt"]
    assert cli("init", ".", cwd=users).code == 0


def test_init_of_an_empty_name_is_refused_not_the_current_directory(tmp_path: Path) -> None:
    """`gitops-gen init "$DIR"` with DIR unset once made the current directory a platform
    repo, and committed everything in it."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine\n")
    result = cli("init", "", cwd=work)
    assert result.code == 2 and "DIRECTORY: is empty" in result.err
    assert sorted(p.name for p in work.iterdir()) == ["notes.txt"]


def test_init_that_cannot_write_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p/templates").write_text("a file where the scaffold wants a directory\n")
    result = cli("init", "p", cwd=tmp_path)
    assert result.code == 2, result.text
    assert "cannot scaffold a platform in" in result.err and "nothing was left behind" in (
        result.err)
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["templates"]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built as a wheel and installed (without deps) into a fresh directory."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(work / "dist"), str(REPO_ROOT)], check=True, capture_output=True)
    wheel = next((work / "dist").glob("gitops_gen-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(work / "site"), str(wheel)], check=True, capture_output=True)
    return work / "site"


def test_init_works_from_an_installed_wheel(installed_wheel: Path, tmp_path: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import gitops_gen;"
        "assert gitops_gen.__file__.startswith(sys.argv[1]), gitops_gen.__file__;"
        "from gitops_gen.cli import main; raise SystemExit(main(['init', 'p']))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(installed_wheel)], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert set(PLATFORM_FILES) <= set(commit_files(tmp_path / "p"))
