"""A change of many files is written through one spare file swapped into place
(gitops_gen/spare.py): through the CLI, on real repositories, its files are what a
plain write gives, no inode is used up per file, and a spare that is not a plain file of
its own is never written through."""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import pytest
import yaml

from gitops_gen.spare import SPARE_FILE, USE_FROM, Spare
from tests.conftest import cli, git, tree_state

CUSTOMERS = 110  # each bump writes their values and the fleet tag: over USE_FROM
KILL_AFTER = "GITOPS_GEN_TEST_KILL_AFTER_WRITES"


@pytest.fixture
def fleet(platform_copy: Path, cache: Path) -> Path:
    root = platform_copy
    for n in range(CUSTOMERS):
        (root / f"customers/c{n:03d}.yaml").write_text(f"name: c{n:03d}\n")
    assert cli("compile", cwd=root).code == 0
    git("add", "-A", cwd=root)
    git("commit", "-qm", f"{CUSTOMERS} customers", cwd=root)
    return root


def values_files(root: Path) -> list[Path]:
    return [root / f"gitops/apps/customer-c{n:03d}/values.yaml" for n in range(CUSTOMERS)]


def tag_in(path: Path) -> str:
    return str(yaml.safe_load(path.read_text())["image"]["tag"])


def spare(root: Path) -> Path:
    return root / ".git" / SPARE_FILE


def test_a_bump_swaps_files_in_without_using_up_an_inode_each(fleet: Path) -> None:
    assert CUSTOMERS + 1 >= USE_FROM
    (fleet / "gitops/apps/customer-c007/values.yaml").chmod(0o755)  # a new file is 0o644
    git("commit", "-qam", "An executable values file", cwd=fleet)
    before = {path.stat().st_ino for path in values_files(fleet)}
    result = cli("bump-image", "1.4.2", cwd=fleet)
    assert result.code == 0, result.text
    after = [path.stat() for path in values_files(fleet)]
    assert [tag_in(path) for path in values_files(fleet)] == ["1.4.2"] * CUSTOMERS
    assert {oct(s.st_mode & 0o777) for s in after} == {oct(0o666 & ~_umask())}
    # each file's old inode took the next one's bytes: one new inode in all, the spare
    assert len({s.st_ino for s in after} - before) <= 1
    assert git("status", "--porcelain", cwd=fleet) == ""
    assert git("fsck", "--no-dangling", cwd=fleet) == ""
    held = spare(fleet).stat().st_ino  # the last file replaced's old one (gitops-gen.yaml)
    result = cli("bump-image", "1.4.3", cwd=fleet)
    assert result.code == 0, result.text
    again = {path.stat().st_ino for path in values_files(fleet)}
    assert again <= {s.st_ino for s in after} | {held}  # not one new inode
    assert cli("validate", cwd=fleet).code == 0


@pytest.mark.parametrize("kind", ["symlink", "hard link", "directory", "fifo"])
def test_a_spare_that_is_no_plain_file_of_its_own_is_never_written_through(
        fleet: Path, tmp_path: Path, kind: str) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not gitops-gen's\n")
    if kind == "symlink":
        spare(fleet).symlink_to(outside)
    elif kind == "hard link":
        os.link(outside, spare(fleet))
    elif kind == "fifo":  # opened to write, it would wait for a reader for ever
        os.mkfifo(spare(fleet))
    else:
        spare(fleet).mkdir()
    result = cli("bump-image", "1.4.2", cwd=fleet)
    assert result.code == 0, result.text
    assert outside.read_text() == "not gitops-gen's\n"
    assert [tag_in(path) for path in values_files(fleet)] == ["1.4.2"] * CUSTOMERS
    assert git("status", "--porcelain", cwd=fleet) == ""


def test_a_file_hard_linked_elsewhere_keeps_its_other_name_as_it_was(
        fleet: Path, tmp_path: Path) -> None:
    """As after a rename over it: the path holds the new file, the other name the old;
    the old file, now the spare's, is not written over (it has two names)."""
    linked = tmp_path / "linked-values.yaml"
    os.link(values_files(fleet)[3], linked)
    old = linked.read_text()
    assert cli("bump-image", "1.4.2", cwd=fleet).code == 0
    assert linked.read_text() == old
    assert tag_in(values_files(fleet)[3]) == tag_in(values_files(fleet)[4]) == "1.4.2"


def test_a_bump_killed_midway_leaves_each_file_old_or_new(fleet: Path) -> None:
    before = tree_state(fleet)
    result = cli("bump-image", "1.4.2", cwd=fleet, env={KILL_AFTER: "50"})
    assert result.code == -signal.SIGKILL
    tags = [tag_in(path) for path in values_files(fleet)]  # each parses: old or new
    assert set(tags) == {"1.0.0", "1.4.2"} and tags.count("1.4.2") == 50
    assert cli("compile", cwd=fleet).code == 0
    assert tree_state(fleet) == before


def test_where_the_exchange_fails_the_plain_write_is_told_to_do_it(tmp_path: Path) -> None:
    """A file system without RENAME_EXCHANGE (EINVAL), or the tree on another than the
    git directory's (EXDEV): `write` says no, for the rest of the run."""
    calls = []

    def exchange(a: str, b: str) -> None:
        calls.append(b)
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    target = tmp_path / "file.yaml"
    target.write_text("old\n")
    spare_file = Spare(str(tmp_path / "spare"), exchange)
    assert not spare_file.write(str(target), b"new\n", replacing=True)
    assert not spare_file.write(str(target), b"new\n", replacing=True)
    assert calls == [str(target)] and target.read_text() == "old\n"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
