"""gitrepo.GitRepo on real repositories: exactly the files asked for are checked and
committed, however many, and every other staged, unstaged or untracked change is left as
it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_gen.errors import InputError
from gitops_gen.gitrepo import GitRepo, Identity, open_repo
from tests.conftest import commit_files, git, tree_state

BOT = Identity("gitops-gen", "gitops-gen@users.noreply.invalid")
FILES = [f"apps/c{i:03d}/values.yaml" for i in range(120)]  # more than pathspecs allowed


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """A repository whose one commit holds FILES, a README and a file to be staged away."""
    root = tmp_path / "many"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    for rel in [*FILES, "README.md", "old.txt"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"{rel}\n")
    git("add", "-A", cwd=root)
    git("commit", "-qm", "start", cwd=root)
    return root


def repo_at(root: Path) -> GitRepo:
    repo = open_repo(root)
    assert repo is not None
    return repo


def test_dirty_paths_finds_each_kind_of_change_among_many(many: Path) -> None:
    (many / FILES[3]).write_text("edited, not staged\n")
    (many / FILES[7]).write_text("edited and staged\n")
    git("add", FILES[7], cwd=many)
    (many / FILES[9]).unlink()
    git("mv", FILES[11], "apps/renamed.yaml", cwd=many)  # a staged rename of one of ours
    (many / "apps/c999/values.yaml").parent.mkdir()
    (many / "apps/c999/values.yaml").write_text("untracked\n")
    (many / "README.md").write_text("dirty, but not asked about\n")
    asked = [*FILES, "apps/c999/values.yaml"]
    assert repo_at(many).dirty_paths(asked) == sorted(
        [FILES[3], FILES[7], FILES[9], FILES[11], "apps/c999/values.yaml"])
    assert repo_at(many).dirty_paths(FILES[20:]) == []


def test_a_commit_of_many_files_holds_exactly_them(many: Path) -> None:
    writes = {rel: f"bumped {rel}\n".encode() for rel in FILES[:110]}
    writes["apps/new/values.yaml"] = b"new\n"
    git("gc", "-q", "--prune=now", cwd=many)
    pack = repo_at(many).pack_ahead(writes, [FILES[115]])  # before the files are written
    assert pack is not None
    for rel, content in writes.items():
        (many / rel).parent.mkdir(exist_ok=True)
        (many / rel).write_bytes(content)
    (many / FILES[115]).unlink()
    (many / FILES[119]).write_text("changed, but not committed by us\n")
    asked = [*writes, FILES[115]]
    pack.finish()
    sha = repo_at(many).commit_paths(asked, "Bump", BOT)
    assert git("rev-parse", "HEAD", cwd=many).strip() == sha
    assert commit_files(many) == sorted(asked)
    assert git("show", f"HEAD:{FILES[0]}", cwd=many) == f"bumped {FILES[0]}\n"
    assert git("status", "--porcelain", cwd=many) == f" M {FILES[119]}\n"  # all else clean
    # its blobs and trees went into a pack ahead of it: one loose object, the commit
    assert "count: 1\n" in git("count-objects", "-v", cwd=many)
    assert git("for-each-ref", "refs/gitops-gen", cwd=many) == ""
    assert git("fsck", "--no-dangling", cwd=many) == ""
    assert git("log", "-1", "--format=%an <%ae>|%s", cwd=many).strip() == (
        "gitops-gen <gitops-gen@users.noreply.invalid>|Bump")


def test_what_the_pack_ahead_leaves_out_is_committed_all_the_same(many: Path) -> None:
    """A file written otherwise than the pack was told (a link, an executable), or whose
    name fast-import would need quoted: the commit writes it itself."""
    writes = {rel: f"bumped {rel}\n".encode() for rel in FILES}
    writes["apps/odd\nname.yaml"] = b"a newline in its name\n"
    pack = repo_at(many).pack_ahead({**writes, "apps/link.yaml": b"a file, said the plan\n"},
                                    [])
    assert pack is not None
    for rel, content in writes.items():
        (many / rel).write_bytes(content)
    (many / "apps/link.yaml").symlink_to("c000/values.yaml")
    (many / FILES[1]).chmod(0o755)
    asked = [*writes, "apps/link.yaml"]
    pack.finish()
    repo_at(many).commit_paths(asked, "Bump", BOT)
    assert git("ls-tree", "HEAD", "apps/link.yaml", cwd=many).split()[0] == "120000"
    assert git("ls-tree", "HEAD", FILES[1], cwd=many).split()[0] == "100755"
    assert git("show", "HEAD:apps/odd\nname.yaml", cwd=many) == "a newline in its name\n"
    assert git("status", "--porcelain", cwd=many) == ""
    assert git("fsck", "--no-dangling", cwd=many) == ""


def test_other_staged_changes_stay_staged_and_out_of_the_commit(many: Path) -> None:
    (many / "README.md").write_text("staged edit\n")
    (many / "added.txt").write_text("staged new file\n")
    git("add", "README.md", "added.txt", cwd=many)
    git("rm", "-q", "--cached", "old.txt", cwd=many)  # a staged deletion
    status = git("status", "--porcelain", cwd=many)
    (many / FILES[0]).write_text("ours\n")
    repo_at(many).commit_paths([FILES[0]], "Ours", BOT)
    assert commit_files(many) == [FILES[0]]
    assert git("status", "--porcelain", cwd=many) == status
    assert git("show", "HEAD:old.txt", cwd=many) == "old.txt\n"  # not deleted by us


def test_a_rejected_commit_leaves_index_and_history_as_they_were(many: Path) -> None:
    hook = many / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    for rel in FILES:
        (many / rel).write_text("bumped\n")
    git("add", FILES[0], cwd=many)  # one of ours staged by hand beforehand
    state = tree_state(many)
    with pytest.raises(InputError, match=r"(?s)git commit failed, nothing committed.*frozen"):
        repo_at(many).commit_paths(FILES, "Bump", BOT)
    assert tree_state(many) == state


def test_a_repository_without_an_index_keeps_its_other_files(many: Path) -> None:
    (many / ".git/index").unlink()  # git reads that as every file of HEAD staged away
    (many / FILES[0]).write_text("ours\n")
    repo_at(many).commit_paths([FILES[0]], "Ours", BOT)
    assert commit_files(many) == [FILES[0]]
    assert git("show", "HEAD:README.md", cwd=many) == "README.md\n"


def test_the_first_commit_of_a_repository(tmp_path: Path) -> None:
    git("init", "-q", "-b", "main", cwd=tmp_path)
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "b.txt").write_text("staged, not ours\n")
    git("add", "b.txt", cwd=tmp_path)
    repo_at(tmp_path).commit_paths(["a.txt"], "First", BOT)
    assert commit_files(tmp_path) == ["a.txt"]
    assert git("status", "--porcelain", cwd=tmp_path) == "A  b.txt\n"


def test_files_in_takes_what_git_add_would(many: Path) -> None:
    (many / ".gitignore").write_text("*.log\n")
    (many / "debug.log").write_text("ignored\n")
    (many / "apps/extra.yaml").write_text("untracked\n")
    files = repo_at(many).files_in(".")
    assert "apps/extra.yaml" in files and ".gitignore" in files and FILES[0] in files
    assert "debug.log" not in files
    assert repo_at(many).files_in("apps/c001") == [FILES[1]]
