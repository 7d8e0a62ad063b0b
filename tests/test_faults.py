"""Crashes and concurrency: a killed run loses nothing, two runs never interleave.

Kills are real SIGKILLs of real `gitops-gen` processes: at an exact point between two
file writes (GITOPS_GEN_TEST_KILL_AFTER_WRITES, a test-only hook in tree.apply), and at
arbitrary moments (timed). Concurrency is two real processes on one repository, the
first held inside its commit by a pre-commit hook that waits for the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ACME_FILES, cli, commit_count, commit_files, git, tree_state

KILL_AFTER = "GITOPS_GEN_TEST_KILL_AFTER_WRITES"


def files_of(root: Path) -> dict[str, bytes]:
    """Every file outside .git, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts}


def committed(root: Path) -> None:
    git("add", "-A", cwd=root)
    git("commit", "-qm", "state", cwd=root)


def assert_old_or_new(tree: dict[str, bytes], old: dict[str, bytes],
                      new: dict[str, bytes]) -> None:
    """Each file is as before or as a finished run leaves it — none is cut short."""
    for rel in sorted(set(tree) | set(old) | set(new)):
        if rel.endswith(".gitops-gen-tmp"):
            continue  # a killed write's temporary file: the next run reuses it
        assert tree.get(rel) in (old.get(rel), new.get(rel)), rel


@pytest.fixture
def edited(platform_copy: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A platform whose specs changed since its tree was compiled and committed (two
    customers resized, one removed, one added), and a copy compiled cleanly: the old
    tree, and the new one every interrupted run must end in."""
    root = platform_copy
    for name in ("alpha", "bravo", "charlie"):
        (root / f"customers/{name}.yaml").write_text(f"name: {name}\n")
    assert cli("compile", cwd=root).code == 0
    committed(root)
    for name in ("alpha", "bravo"):
        (root / f"customers/{name}.yaml").write_text(f"name: {name}\ntier: large\n")
    (root / "customers/charlie.yaml").unlink()
    (root / "customers/delta.yaml").write_text("name: delta\n")
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, symlinks=True)
    result = cli("compile", cwd=clean)
    assert result.code == 0 and "6 written, 4 deleted" in result.out, result.text
    return root, clean


def test_compile_killed_between_any_two_writes_is_repaired_by_the_next(
    edited: tuple[Path, Path], tmp_path: Path
) -> None:
    original, clean = edited
    old, new = files_of(original), files_of(clean)
    operations = 10  # 6 written, 4 deleted
    for done in range(operations):
        root = tmp_path / f"killed-after-{done}"
        shutil.copytree(original, root, symlinks=True)
        result = cli("compile", cwd=root, env={KILL_AFTER: str(done)})
        assert result.code == -signal.SIGKILL
        tree = files_of(root)
        assert_old_or_new(tree, old, new)
        # the hook stopped it exactly there: `done` files changed, the rest not yet
        changed = [rel for rel in set(old) | set(new) if old.get(rel) != new.get(rel)]
        assert sum(tree.get(rel) == new.get(rel) for rel in changed) == done
        repaired = cli("compile", cwd=root)
        assert repaired.code == 0, repaired.text
        assert files_of(root) == new


def test_compile_killed_at_arbitrary_moments_is_repaired_by_the_next(
    platform_copy: Path, tmp_path: Path
) -> None:
    original = platform_copy
    for i in range(60):
        (original / f"customers/c{i:02d}.yaml").write_text(f"name: c{i:02d}\n")
    assert cli("compile", cwd=original).code == 0
    committed(original)
    for i in range(60):
        (original / f"customers/c{i:02d}.yaml").write_text(f"name: c{i:02d}\ntier: large\n")
    clean = tmp_path / "clean"
    shutil.copytree(original, clean, symlinks=True)
    started = time.monotonic()
    assert cli("compile", cwd=clean).code == 0
    duration = time.monotonic() - started
    old, new = files_of(original), files_of(clean)
    # Which moments are hit (before, during or after the writes) varies by machine; the
    # hook test above covers every point between writes, this one the points inside them.
    for step in range(8):
        root = tmp_path / f"killed-{step}"
        shutil.copytree(original, root, symlinks=True)
        proc = subprocess.Popen([sys.executable, "-m", "gitops_gen", "compile"], cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(duration * (0.3 + 0.1 * step))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        tree = files_of(root)
        assert_old_or_new(tree, old, new)
        assert cli("compile", cwd=root).code == 0
        assert files_of(root) == new  # byte-identical, and no temporary file is left


@pytest.mark.parametrize("writes", [2, 5], ids=["mid-write", "all-written"])
def test_add_killed_before_its_commit_leaves_history_alone_and_says_what_to_do(
    platform_copy: Path, writes: int
) -> None:
    root = platform_copy
    before = tree_state(root)
    commits = commit_count(root)
    result = cli("add", "acme", cwd=root, env={KILL_AFTER: str(writes)})
    assert result.code == -signal.SIGKILL
    assert commit_count(root) == commits
    assert git("ls-files", "-s", cwd=root) == before["<index>"]  # nothing staged
    # a rerun says what is left and the two ways on
    state = tree_state(root)
    again = cli("add", "acme", cwd=root)
    assert again.code == 2
    assert "was never committed" in again.err
    assert "To keep it: `gitops-gen compile`" in again.err
    assert "To start over: delete customers/acme.yaml, run `gitops-gen compile`" in again.err
    assert tree_state(root) == state
    # starting over gets back exactly to where we were, and then add works
    (root / "customers/acme.yaml").unlink()
    assert cli("compile", cwd=root).code == 0
    assert tree_state(root) == before
    assert cli("add", "acme", cwd=root).code == 0
    assert commit_count(root) == commits + 1
    assert commit_files(root) == ACME_FILES


def test_a_kept_leftover_spec_commits_cleanly(platform_copy: Path) -> None:
    root = platform_copy
    assert cli("add", "acme", cwd=root, env={KILL_AFTER: "1"}).code == -signal.SIGKILL
    assert cli("compile", cwd=root).code == 0
    git("add", "customers/acme.yaml", "gitops", cwd=root)
    git("commit", "-qm", "Add customer acme", cwd=root)
    assert commit_files(root) == ACME_FILES
    assert git("status", "--porcelain", cwd=root) == ""
    assert cli("validate", cwd=root).code == 0


@pytest.mark.parametrize(
    ("command", "subject"),
    [(["remove", "acme", "--force"], "Remove customer acme"),
     (["bump-image", "2.0.0"], "Bump image to 2.0.0 for acme")],
    ids=["remove", "bump-image"],
)
def test_a_killed_remove_or_bump_is_undone_by_compile_and_can_be_rerun(
    platform_copy: Path, command: list[str], subject: str
) -> None:
    """Both write the generated files first and the hand-written ones (the spec, the
    fleet tag) last: killed in between, `compile` puts back the tree they started from."""
    root = platform_copy
    assert cli("add", "acme", cwd=root).code == 0
    before = tree_state(root)
    assert cli(*command, cwd=root, env={KILL_AFTER: "1"}).code == -signal.SIGKILL
    assert tree_state(root)["<HEAD>"] == before["<HEAD>"]
    refused = cli(*command, cwd=root)  # the half-written files are not overwritten blindly
    assert refused.code == 2 and "run `gitops-gen compile`" in refused.err
    assert cli("compile", cwd=root).code == 0
    assert tree_state(root) == before
    result = cli(*command, cwd=root)
    assert result.code == 0, result.text
    assert git("log", "-1", "--format=%s", cwd=root).strip() == subject


def test_add_killed_at_arbitrary_moments_never_leaves_a_partial_commit(
    platform_copy: Path, tmp_path: Path
) -> None:
    for step, delay in enumerate((0.2, 0.5, 0.8, 1.2, 1.8)):
        root = tmp_path / f"add-{step}"
        shutil.copytree(platform_copy, root, symlinks=True)
        commits = commit_count(root)
        proc = subprocess.Popen([sys.executable, "-m", "gitops_gen", "add", "acme"], cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        _wait_for_git(root)  # a `git commit` it started finishes on its own
        assert commit_count(root) in (commits, commits + 1)
        if commit_count(root) == commits + 1:
            assert commit_files(root) == ACME_FILES  # a complete commit, or none


def _wait_for_git(root: Path) -> None:
    deadline = time.monotonic() + 30
    while (root / ".git/index.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


HOOK = """#!/bin/sh
# Runs inside `gitops-gen add`'s `git commit`, while add holds the writer lock.
: "${GG_MARKS:?the test sets GG_MARKS}"
touch "$GG_MARKS/hook-started"
"{python}" -m gitops_gen validate > "$GG_MARKS/validate.out" 2>&1
echo $? > "$GG_MARKS/validate.rc"
while [ ! -f "$GG_MARKS/release" ]; do sleep 0.05; done
touch "$GG_MARKS/hook-done"
"""


@pytest.fixture
def held(platform_copy: Path, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """The platform with a pre-commit hook that holds `add` inside its commit until the
    test writes the file `release` into the marks directory (at the latest, on teardown:
    no hook outlives the test)."""
    marks = tmp_path / "marks"
    marks.mkdir()
    hook = platform_copy / ".git/hooks/pre-commit"
    hook.write_text(HOOK.replace("{python}", sys.executable))
    hook.chmod(0o755)
    yield platform_copy, marks
    (marks / "release").touch()


def gitops_gen(root: Path, marks: Path, *args: str) -> subprocess.Popen[str]:
    """`gitops-gen ARGS` started in the background, its hooks reporting to `marks`."""
    return subprocess.Popen([sys.executable, "-m", "gitops_gen", *args], cwd=root,
                            env={**os.environ, "GG_MARKS": str(marks)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def start_add(root: Path, marks: Path) -> subprocess.Popen[str]:
    """`gitops-gen add acme`, once it is inside its commit (holding the lock)."""
    proc = gitops_gen(root, marks, "add", "acme")
    deadline = time.monotonic() + 120
    while not (marks / "hook-started").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    return proc


def test_a_second_writer_stops_at_once_and_a_waiting_one_goes_after(
    held: tuple[Path, Path]
) -> None:
    root, marks = held
    commits = commit_count(root)
    first = start_add(root, marks)
    for command in (["compile"], ["add", "globex"], ["bump-image", "2.0.0"],
                    ["remove", "acme", "--force"]):
        state = tree_state(root)
        second = cli(*command, cwd=root)
        assert second.code == 2, (command, second.text)
        assert f"another gitops-gen is running on this repository (pid {first.pid})" in (
            second.err)
        assert "pass --wait SECONDS" in second.err
        assert tree_state(root) == state
    # read-only commands take no lock: validate ran inside the hook, and runs now
    assert (marks / "validate.rc").read_text().strip() == "0", (
        marks / "validate.out").read_text()
    assert cli("list", cwd=root).code == 0
    waiting = gitops_gen(root, marks, "add", "globex", "--wait", "120")
    time.sleep(1)
    assert waiting.poll() is None  # still waiting for the lock
    (marks / "release").touch()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, out + err
    # one commit each, one after the other, nothing interleaved
    assert commit_count(root) == commits + 2
    assert git("log", "-2", "--format=%s", cwd=root).split("\n")[:2] == [
        "Add customer globex", "Add customer acme"]
    assert commit_files(root, "HEAD~1") == ACME_FILES
    assert git("status", "--porcelain", cwd=root) == ""


def test_wait_gives_up_after_its_timeout(held: tuple[Path, Path]) -> None:
    root, marks = held
    first = start_add(root, marks)
    started = time.monotonic()
    second = cli("compile", "--wait", "1.5", cwd=root)
    assert second.code == 2
    assert time.monotonic() - started >= 1.5
    assert f"(pid {first.pid}) after waiting 1.5s" in second.err
    (marks / "release").touch()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err


def test_a_killed_holder_leaves_no_stale_lock(held: tuple[Path, Path]) -> None:
    root, marks = held
    commits = commit_count(root)
    first = start_add(root, marks)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=60)
    # the kernel released the lock with the process: the next writer just runs
    result = cli("compile", cwd=root)
    assert result.code == 0, result.text
    # the `git commit` the killed add had started goes on to completion: one whole commit
    (marks / "release").touch()
    deadline = time.monotonic() + 60
    while not (marks / "hook-done").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    _wait_for_git(root)
    assert commit_count(root) == commits + 1
    assert commit_files(root) == ACME_FILES


def test_concurrent_compiles_with_wait_serialise(platform_copy: Path, tmp_path: Path) -> None:
    root = platform_copy
    for i in range(30):
        (root / f"customers/c{i:02d}.yaml").write_text(f"name: c{i:02d}\n")
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, symlinks=True)
    assert cli("compile", cwd=clean).code == 0
    procs = [subprocess.Popen([sys.executable, "-m", "gitops_gen", "compile", "--wait", "120"],
                              cwd=root, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(4)]
    results = [(*p.communicate(timeout=300), p.returncode) for p in procs]
    assert all(code == 0 for _, _, code in results), results
    # the first wrote everything; the others, one at a time after it, found nothing to do
    written = sorted(out.split(": ")[1].strip() for out, _, _ in results)
    assert written == ["0 written, 0 deleted"] * 3 + ["120 written, 0 deleted"]
    assert files_of(root) == files_of(clean)
