"""One writer at a time: the lock every command that changes the tree holds.

Two `gitops-gen compile`s (or a compile and an `add`, or two CI bumps) interleaving their
writes would leave a tree that neither of them meant, and could commit it. So `add`,
`remove`, `compile` and `bump-image` hold an exclusive `flock` on a lock file for their
whole run; a second one exits 2 saying who holds it, or with `--wait SECONDS` waits that
long first.

`flock` belongs to the open file: the kernel releases it when the process ends, however
it ends (SIGKILL included), so a killed run never leaves a stale lock to clean up. The
file is `gitops-gen.lock` in the git directory (shared by all worktrees of the repo),
never in the working tree, so no command sees it as a change; outside git it is
`<root>/.gitops-gen.lock`. Its content (the holder's pid) is only for the message.

Read-only commands (validate, diff, list) take no lock. They must not: `add` commits with
`git commit`, which runs the pre-commit hook, which runs `gitops-gen validate` — while
`add` holds the lock.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.procs import git_output

LOCK_FILE = "gitops-gen.lock"
_POLL_SECONDS = 0.05


def lock_path(root: Path) -> Path:
    """Where the lock of the platform at `root` lives: in the repository's common git
    dir (shared by its worktrees), or beside gitops-gen.yaml outside git."""
    common = git_common_dir(root)
    return root / f".{LOCK_FILE}" if common is None else common / LOCK_FILE


def git_common_dir(root: Path) -> Path | None:
    """The git directory that the repository holding `root` shares with its worktrees;
    None outside git. Without git to run, FileNotFoundError (which the CLI says plainly)."""
    # git itself, not GitPython: a no-op compile should not pay ~40 ms to import it
    found = git_output(root, "rev-parse", "--path-format=absolute", "--git-common-dir")
    return None if found is None else Path(found)  # any bytes make a path


@contextmanager
def writer_lock(root: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the platform's writer lock for the `with` block; InputError if another process
    still holds it after `wait` seconds."""
    path = lock_path(root)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise InputError(f"cannot create the lock file {path}: {exc.strerror}") from None
    try:
        _acquire(fd, wait)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _acquire(fd: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise InputError(_busy(fd, wait)) from None
            time.sleep(_POLL_SECONDS)


def _busy(fd: int, wait: float) -> str:
    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    who = f" (pid {holder})" if holder.isdigit() else ""
    waited = f" after waiting {wait:g}s" if wait else ""
    return (f"another gitops-gen is running on this repository{who}{waited}; it changes "
            "the tree too, so this one stopped before changing anything. Wait for it, or "
            "pass --wait SECONDS")
