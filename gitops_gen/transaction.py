"""Change the tree as one unit: write, validate, commit — or put everything back.

`add`, `remove` and `bump-image` all go through `commit_change`, so they share one
promise: either one commit holding exactly the changed files, or the working tree, the
index and the history exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gitops_gen.errors import InputError
from gitops_gen.gitrepo import GitRepo, Identity, PackAhead, require_repo
from gitops_gen.model import Finding
from gitops_gen.platform import Platform
from gitops_gen.stagetimes import StageTimes
from gitops_gen.tree import TreeChange, apply

Validate = Callable[[], list[Finding]]


@dataclass
class Outcome:
    """What a transaction did: the commit, or the findings that stopped it."""

    paths: list[str]
    sha: str | None = None
    findings: list[Finding] | None = None
    detached: bool = False  # the commit is on a detached HEAD, on no branch

    @property
    def ok(self) -> bool:
        return not self.findings

    def commit_text(self) -> str:
        """The commit as summaries name it; one on no branch says how to keep it."""
        if self.sha is None:
            return "not committed"
        if self.detached:
            return (f"commit {self.sha} on a detached HEAD (on no branch: keep it with "
                    "`git switch -c BRANCH`)")
        return f"commit {self.sha}"


def commit_change(
    platform: Platform,
    change: TreeChange,
    message: str,
    validate: Validate,
    no_commit: bool,
    owned: Sequence[str] = (),
    times: StageTimes | None = None,
) -> Outcome:
    """`owned`: the generated files of the customers the change is about. The plan leaves
    out a file that already holds what it should be; if it differs from HEAD (an
    interrupted run wrote or deleted it), a commit without it would be half the change,
    so such a file is refused like one the change would overwrite. `times`: where the
    stages (write, validate, commit) say how long they took."""
    times = times or StageTimes()
    repo = None if no_commit else require_repo(platform.root)
    pack: PackAhead | None = None
    try:
        with times.stage("write"):
            if repo is not None:
                repo.require_ready()  # before writing and validating, not after
                _refuse_dirty(repo, sorted({*change.paths, *owned}))
                # the commit's objects, packed while the files are written and checked (if
                # the check fails, they are unreachable objects, which git's gc prunes)
                pack = repo.pack_ahead(change.writes, change.deletes)
            snapshot = apply(platform.root, change)
        try:
            with times.stage("validate"):
                findings = validate()
            if findings:
                snapshot.restore()
                return Outcome(change.paths, findings=findings)
            with times.stage("commit"):
                if pack is not None:
                    pack.finish()
                sha = repo.commit_paths(change.paths, message, identity(platform)) if (
                    repo) else None
        except BaseException:
            # InputError, a crash or Ctrl-C: whatever happened, the tree goes back
            snapshot.restore()
            raise
    finally:
        if pack is not None:
            pack.finish()  # its throw-away ref goes, whatever happened
    return Outcome(change.paths, sha=sha, detached=bool(repo and repo.is_detached()))


def identity(platform: Platform) -> Identity:
    git_config = platform.config.get("git") or {}
    return Identity(
        name=str(git_config.get("authorName") or "gitops-gen"),
        email=str(git_config.get("authorEmail") or "gitops-gen@users.noreply.invalid"),
    )


def _refuse_dirty(repo: GitRepo, paths: Sequence[str]) -> None:
    dirty = repo.dirty_paths(paths)
    if dirty:
        listed = "\n".join(f"  {p}" for p in dirty)
        raise InputError(
            "these files have uncommitted changes this command would overwrite or leave out "
            "of its commit; commit or discard them first (or run `gitops-gen compile`, then "
            f"commit):\n{listed}"
        )
