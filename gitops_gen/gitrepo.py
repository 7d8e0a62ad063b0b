"""The one module that talks to git (through GitPython).

Commits hold exactly the paths a command changed, never other staged or dirty files;
a failed commit (a hook said no, no identity) leaves the index as it was.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from gitops_gen.errors import InputError


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


@dataclass
class GitRepo:
    """A git repository, seen from a platform root that may be a sub-directory of it.

    Paths in and out are relative to the platform root, like everywhere else.
    """

    repo: git.Repo
    prefix: str  # platform root relative to the repository's top level, "" or "x/y/"

    def _spec(self, paths: Sequence[str]) -> list[str]:
        return [self.prefix + p for p in paths]

    def has_commits(self) -> bool:
        try:
            self.repo.head.commit  # noqa: B018 - raises on an unborn branch
        except ValueError:
            return False
        return True

    def dirty_paths(self, paths: Sequence[str]) -> list[str]:
        """Those of `paths` with uncommitted changes (staged, unstaged or untracked)."""
        if not paths:
            return []
        out = self.repo.git.status("--porcelain=v1", "-z", "--untracked-files=all",
                                   "--", *self._spec(paths))
        entries = [e[3:] for e in out.split("\0") if len(e) > 3]
        return sorted(e.removeprefix(self.prefix) for e in entries if e.startswith(self.prefix))

    def commit_paths(self, paths: Sequence[str], message: str, identity: Identity) -> str:
        """Commit exactly `paths` (added, changed or deleted); returns the new sha."""
        env = _identity_env(self.repo, identity)
        try:
            self.repo.git.add("-A", "--", *self._spec(paths))
            self.repo.git.commit("-q", "-m", message, "--only", "--", *self._spec(paths),
                                 env=env)
        except git.GitCommandError as exc:
            self._unstage(paths)
            raise InputError(f"git commit failed, nothing committed:\n{_git_error(exc)}") from None
        return str(self.repo.head.commit.hexsha)

    def _unstage(self, paths: Sequence[str]) -> None:
        if self.has_commits():
            self.repo.git.reset("-q", "HEAD", "--", *self._spec(paths))
        else:
            self.repo.git.rm("--cached", "-r", "-q", "--ignore-unmatch", "--",
                             *self._spec(paths))


def open_repo(root: Path) -> GitRepo | None:
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    top = Path(repo.working_tree_dir or root).resolve()
    rel = root.resolve().relative_to(top).as_posix()
    return GitRepo(repo, "" if rel == "." else rel + "/")


def require_repo(root: Path) -> GitRepo:
    repo = open_repo(root)
    if repo is None:
        raise InputError(f"{root} is not inside a git repository: run `git init`, or pass "
                         "--no-commit to only write the files")
    return repo


def init_repo(root: Path) -> None:
    if open_repo(root) is None:
        git.Repo.init(root, initial_branch="main")


def _identity_env(repo: git.Repo, fallback: Identity) -> Mapping[str, str]:
    """Who commits: git's own config or GIT_AUTHOR_* env first, else the platform's bot."""
    env: dict[str, str] = {}
    reader = repo.config_reader()
    for role in ("AUTHOR", "COMMITTER"):
        if not os.environ.get(f"GIT_{role}_NAME") and not reader.has_option("user", "name"):
            env[f"GIT_{role}_NAME"] = fallback.name
        if not os.environ.get(f"GIT_{role}_EMAIL") and not reader.has_option("user", "email"):
            env[f"GIT_{role}_EMAIL"] = fallback.email
    return env


def _git_error(exc: git.GitCommandError) -> str:
    text = (str(exc.stderr or "") + "\n" + str(exc.stdout or "")).strip()
    text = text.removeprefix("stderr: ").strip("'\n ")
    return "\n".join("  " + line for line in text.splitlines()[-20:]) or f"  {exc}"
