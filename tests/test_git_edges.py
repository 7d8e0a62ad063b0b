"""Git edge cases through the CLI: each is handled with a clear message, and a failure
leaves the working tree, the index and the history exactly as they were."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ACME_FILES, cli, commit_count, commit_files, git, tree_state

REJECTING_HOOK = "#!/bin/sh\necho 'change-freeze: no commits until Monday' >&2\nexit 1\n"


def reject_commits(root: Path) -> None:
    hook = root / ".git/hooks/pre-commit"
    hook.write_text(REJECTING_HOOK)
    hook.chmod(0o755)


def test_unrelated_changes_are_left_alone_staged_or_not(platform_copy: Path) -> None:
    root = platform_copy
    (root / "README.md").write_text("edited, not staged\n")
    (root / "notes.txt").write_text("untracked\n")
    (root / ".pre-commit-config.yaml").write_text("# staged by hand\nrepos: []\n")
    git("add", ".pre-commit-config.yaml", cwd=root)
    status = git("status", "--porcelain", cwd=root)
    result = cli("add", "acme", cwd=root)
    assert result.code == 0, result.text
    assert commit_files(root) == ACME_FILES
    assert git("status", "--porcelain", cwd=root) == status  # still staged, still dirty


def test_a_dirty_generated_file_is_refused(platform_copy: Path) -> None:
    root = platform_copy
    assert cli("add", "acme", cwd=root).code == 0
    values = root / "gitops/apps/customer-acme/values.yaml"
    values.write_text(values.read_text() + "# a hand edit\n")
    state = tree_state(root)
    for command in (["bump-image", "2.0.0"], ["remove", "acme", "--force"]):
        result = cli(*command, cwd=root)
        assert result.code == 2, result.text
        assert "uncommitted changes this command would overwrite" in result.err
        assert "gitops/apps/customer-acme/values.yaml" in result.err
        assert tree_state(root) == state


def test_a_hook_rejecting_the_commit_changes_nothing(platform_copy: Path) -> None:
    root = platform_copy
    assert cli("add", "globex", cwd=root).code == 0
    reject_commits(root)
    state = tree_state(root)
    for command in (["add", "acme"], ["bump-image", "2.0.0"], ["remove", "globex", "--force"]):
        result = cli(*command, cwd=root)
        assert result.code == 2, (command, result.text)
        assert "git commit failed, nothing committed" in result.err
        assert "change-freeze: no commits until Monday" in result.err
        assert tree_state(root) == state  # tree, index (nothing left staged), history


def test_add_on_a_detached_head_commits_and_says_it_is_on_no_branch(
    platform_copy: Path,
) -> None:
    root = platform_copy
    main = git("rev-parse", "main", cwd=root).strip()
    git("checkout", "-q", "--detach", cwd=root)
    result = cli("add", "acme", cwd=root)
    assert result.code == 0, result.text
    assert "on a detached HEAD (on no branch: keep it with `git switch -c BRANCH`)" in (
        result.out)
    assert git("rev-parse", "HEAD~1", cwd=root).strip() == main
    assert git("rev-parse", "main", cwd=root).strip() == main  # no branch moved
    assert commit_files(root) == ACME_FILES


def test_a_repository_without_commits_gets_its_first_commit(
    platform_copy: Path, tmp_path: Path
) -> None:
    root = tmp_path / "unborn"
    shutil.copytree(platform_copy, root, ignore=shutil.ignore_patterns(".git"))
    git("init", "-q", "-b", "main", cwd=root)
    git("add", "gitops-gen.yaml", cwd=root)  # staged is not committed: a clone lacks it
    result = cli("add", "acme", cwd=root)
    assert result.code == 0, result.text
    assert commit_count(root) == 1
    assert commit_files(root) == ACME_FILES  # exactly add's files, not the whole platform
    # which Argo CD cannot sync without the platform's own files: said, not done silently
    assert "warning: gitops-gen.yaml is not committed" in result.err
    git("add", "-A", cwd=root)
    git("commit", "-qm", "The platform", cwd=root)
    second = cli("add", "globex", cwd=root)
    assert second.code == 0 and "warning" not in second.err, second.text


def test_a_rejected_first_commit_leaves_the_index_empty(
    platform_copy: Path, tmp_path: Path
) -> None:
    root = tmp_path / "unborn"
    shutil.copytree(platform_copy, root, ignore=shutil.ignore_patterns(".git"))
    git("init", "-q", "-b", "main", cwd=root)
    reject_commits(root)
    state = tree_state(root)
    result = cli("add", "acme", cwd=root)
    assert result.code == 2
    assert "change-freeze" in result.err
    assert tree_state(root) == state
    assert state["<HEAD>"] == "<unborn>" and state["<index>"] == ""


def test_a_push_that_fails_for_good_takes_the_commit_back(platform_copy: Path) -> None:
    """An upstream that cannot be reached (gone, no access): exit 2, and the bump's commit
    is undone like any failed command's — not left behind unpushed."""
    root = platform_copy
    assert cli("add", "acme", cwd=root).code == 0
    git("remote", "add", "origin", str(root.parent / "gone.git"), cwd=root)
    git("update-ref", "refs/remotes/origin/main", "HEAD", cwd=root)
    git("branch", "-q", "--set-upstream-to=origin/main", cwd=root)
    state = tree_state(root)
    result = cli("bump-image", "2.0.0", "--push", cwd=root)
    assert result.code == 2
    assert "git push failed" in result.err and "gone.git" in result.err
    assert "nothing was pushed and the local branch is as before" in result.err
    assert tree_state(root) == state


def test_push_without_an_upstream_is_refused_before_anything_changes(
    platform_copy: Path,
) -> None:
    root = platform_copy
    state = tree_state(root)
    result = cli("bump-image", "2.0.0", "--push", cwd=root)
    assert result.code == 2
    assert "branch main has no upstream to push to" in result.err
    assert tree_state(root) == state


def test_a_locked_index_is_refused_before_anything_changes(platform_copy: Path) -> None:
    """`.git/index.lock` left by a git command killed midway (or one still running):
    once, the commit was made and staging it then failed, an internal error that left
    the history one commit ahead of an index that knew nothing of it."""
    root = platform_copy
    assert cli("add", "globex", cwd=root).code == 0
    (root / ".git/index.lock").touch()
    state = tree_state(root)
    for command in (["add", "acme"], ["bump-image", "2.0.0"], ["remove", "globex", "--force"]):
        result = cli(*command, cwd=root)
        assert result.code == 2, (command, result.text)
        assert "git's index is locked" in result.err and "index.lock exists" in result.err
        assert tree_state(root) == state
    (root / ".git/index.lock").unlink()
    assert cli("add", "acme", cwd=root).code == 0


def test_an_index_locked_once_committed_takes_the_commit_back(platform_copy: Path) -> None:
    """The index locked between the commit and its staging (here by a post-commit
    hook): the branch goes back to where it was, and the run says so."""
    root = platform_copy
    hook = root / ".git/hooks/post-commit"
    hook.write_text('#!/bin/sh\ntouch "$(git rev-parse --git-dir)/index.lock"\n')
    hook.chmod(0o755)
    state = tree_state(root)
    result = cli("add", "acme", cwd=root)
    assert result.code == 2, result.text
    assert "the commit was taken back; nothing committed" in result.err
    assert tree_state(root) == state


@pytest.mark.parametrize("start, operation, finish", [
    (["merge", "side"], "merge", "git merge --abort"),
    (["cherry-pick", "side"], "cherry-pick", "git cherry-pick --abort"),
    (["rebase", "side"], "rebase", "git rebase --abort"),
])
def test_an_operation_stopped_on_a_conflict_is_refused_not_concluded(
    platform_copy: Path, start: list[str], operation: str, finish: str
) -> None:
    """A merge stopped on a conflict: `git commit` concludes it. `add` once did, making a
    merge commit of HEAD's side of every conflict and its own files."""
    root = platform_copy
    assert cli("add", "globex", cwd=root).code == 0
    git("checkout", "-q", "-b", "side", cwd=root)
    (root / "notes.txt").write_text("side\n")
    git("add", "notes.txt", cwd=root)
    git("commit", "-qm", "side", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    (root / "notes.txt").write_text("main\n")
    git("add", "notes.txt", cwd=root)
    git("commit", "-qm", "main", cwd=root)
    stopped = subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.com",
                              *start], cwd=root, capture_output=True, text=True)
    assert "CONFLICT" in stopped.stdout, stopped.stderr  # notes.txt: waiting for the user
    state = tree_state(root)
    for command in (["add", "acme"], ["bump-image", "2.0.0"], ["remove", "globex", "--force"]):
        result = cli(*command, cwd=root)
        assert result.code == 2, (command, result.text)
        assert f"a {operation} is in progress" in result.err and finish in result.err
        assert tree_state(root) == state
    git(*finish.split()[1:], cwd=root)
    assert cli("add", "acme", cwd=root).code == 0


def test_no_git_on_path_is_said_plainly_and_changes_nothing(platform_copy: Path) -> None:
    """Without git on PATH every command was an internal error: a FileNotFoundError from
    the lock's or the memo's git, or GitPython's ImportError ("Bad git executable")."""
    tools = {str(Path(shutil.which(tool) or "").parent) for tool in ("helm", "kubectl")}
    path = os.pathsep.join([str(Path(sys.executable).parent), *sorted(tools)])
    assert shutil.which("git", path=path) is None  # the venv's and the tools' own dirs
    before = tree_state(platform_copy)
    for args in (["validate"], ["add", "acme"], ["compile"], ["bump-image", "2.0.0"]):
        result = cli(*args, cwd=platform_copy, env={"PATH": path})
        assert result.code == 2, result.text
        assert "git is not installed, or not on PATH" in result.err
        assert "internal error" not in result.err
    assert tree_state(platform_copy) == before
