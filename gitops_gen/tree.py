"""Writing the generated tree: only what changed, atomically, and undoably.

`plan_changes` compares what the compiler wants with what is on disk; `apply` performs
the plan (each file replaced atomically, so a killed run leaves old or new content, never
a truncated file) and returns a `Snapshot` that puts every touched path back as it was.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import json
import os
import signal
import stat
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from gitops_gen.errors import InputError
from gitops_gen.model import Finding, RenderedFile, customer_of_path
from gitops_gen.platform import GENERATED_MARK, JSON_NOTE_KEY, Platform
from gitops_gen.progress import Progress
from gitops_gen.spare import Spare

TEMP_SUFFIX = ".gitops-gen-tmp"
TEST_KILL_AFTER_WRITES = "GITOPS_GEN_TEST_KILL_AFTER_WRITES"


@dataclass
class TreeChange:
    """Repo-relative paths to write (with their new bytes) and to delete."""

    writes: dict[str, bytes] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return sorted([*self.writes, *self.deletes])

    def __bool__(self) -> bool:
        return bool(self.writes or self.deletes)


@dataclass(frozen=True)
class Link:
    """A symlink found where a file is to be written: what it pointed to."""

    target: str


@dataclass
class Snapshot:
    """The bytes (or absence, or symlink) of paths before a change; `restore` puts them
    back."""

    root: Path
    before: dict[str, bytes | Link | None]

    def restore(self) -> None:
        for rel, content in self.before.items():
            path = self.root / rel
            if content is None:
                # absent before, and perhaps still: a parent that is a file says so too
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    path.unlink()
                _remove_empty_parents(self.root, path.parent)
            elif isinstance(content, Link):
                _relink(path, content.target)
            else:
                write_atomic(path, content)


def take_snapshot(root: Path, paths: Iterable[str]) -> Snapshot:
    """The bytes of `paths` (None: no file there; a `Link` for a symlink, whose target is
    neither read nor written: a write replaces the link); InputError for a directory at
    one of them, where no file can be written and which `restore` could not put back."""
    before: dict[str, bytes | Link | None] = {}
    for rel in paths:
        path = root / rel
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            mode = 0
        except NotADirectoryError:
            raise InputError(f"{_file_above(root, rel)} is a file where a directory is to "
                             f"hold {rel}: move it away, then run the command again") from None
        if stat.S_ISLNK(mode):
            before[rel] = Link(os.readlink(path))
            continue
        if stat.S_ISDIR(mode):
            raise InputError(f"{rel} is a directory where a file is to be written: move it "
                             "away, then run the command again")
        before[rel] = path.read_bytes() if stat.S_ISREG(mode) else None
    return Snapshot(root, before)


def _file_above(root: Path, rel: str) -> str:
    """The first of `rel`'s parent directories that is not a directory (a file, say)."""
    parts = rel.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        above = "/".join(parts[:depth])
        if (root / above).exists() and not (root / above).is_dir():
            return above
    return rel


def _relink(path: Path, target: str) -> None:
    """Put the symlink `path` -> `target` back in place of whatever is there now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TEMP_SUFFIX}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, path)


def plan_changes(
    platform: Platform, wanted: Mapping[str, RenderedFile], owners: set[str | None] | None = None
) -> TreeChange:
    """What to write and delete so the tree holds exactly `wanted`.

    Generated files not wanted any more (their customer was removed) are deleted; with
    `owners`, only orphans generated for those customers (None = platform files) are.
    """
    change = TreeChange()
    for rel, rendered in sorted(wanted.items()):
        if not _holds(platform.path(rel), rendered.content):
            change.writes[rel] = rendered.content
    # Files at the paths of customers whose orphans are not wanted here are theirs: not
    # read (at 10,000 customers, reading 40,000 headers costs a second), and directories
    # holding only such paths (`gitops/apps/customer-NAME/`) not even listed.
    theirs: set[str] = set()
    their_dirs: set[str] = set()
    if owners is not None:
        others = [name for name in platform.customer_names() if name not in owners]
        rules = platform.customer_outputs()
        theirs = {rule.path_for(name) for rule in rules for name in others}
        ours = {rule.path_for(name) for rule in rules for name in owners if name is not None}
        ours |= {rule.path_for(None) for rule in platform.platform_outputs()}
        ours |= {root + "-" for root in platform.generated_roots()}  # the roots are ours
        kept = {parent for rel in ours for parent in _parents(rel)}
        their_dirs = {parent for rel in theirs for parent in _parents(rel)} - kept
    # a wanted file is no orphan, whoever generated it: its header need not be read
    for rel, owner in generated_files(platform, theirs | wanted.keys(), their_dirs):
        if rel not in wanted and (owners is None or owner in owners):
            change.deletes.append(rel)
    return change


def _holds(path: Path, content: bytes) -> bool:
    """Whether `path` is a regular file of these bytes. A symlink is not, whatever it
    points to: compile writes files, and Argo CD reads a link as git stores it.

    Plain system calls, not Path's (half the time: a validate compares every generated
    file), and a file of another size is not read."""
    name = os.fspath(path)
    try:
        info = os.lstat(name)
    except (FileNotFoundError, NotADirectoryError):
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_size != len(content):
        return False
    try:  # O_NOFOLLOW: a symlink put there since the lstat is not followed
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return False
        raise
    try:
        # a regular file's read is short only at its end: one more byte than wanted
        # tells a file grown since the lstat
        return os.read(fd, len(content) + 1) == content
    finally:
        os.close(fd)


def _parents(rel: str) -> Iterator[str]:
    """`a/b/c.yaml` -> `a/b`, `a`."""
    while "/" in rel:
        rel = rel.rsplit("/", 1)[0]
        yield rel


def generated_files(platform: Platform, unread: Container[str] = (),
                    unlisted: Container[str] = ()) -> list[tuple[str, str | None]]:
    """(path, customer or None) of every file in the tree that gitops-gen generated, in
    path order; files at the paths in `unread`, and directories in `unlisted`, are left
    out without being read."""
    found: list[tuple[str, str | None]] = []
    root_prefix = len(str(platform.root)) + 1
    for root in platform.generated_roots():
        base = platform.path(root)
        if not base.is_dir():
            continue
        in_root: list[tuple[str, str | None]] = []
        for directory, dirs, files in os.walk(base):
            prefix = Path(directory[root_prefix:]).as_posix() + "/"
            dirs[:] = sorted(d for d in dirs if prefix + d not in unlisted)
            for name in sorted(files):
                rel = prefix + name
                # a killed write's temporary file is no generated file: the next write
                # of its target reuses and renames it
                if rel in unread or name.endswith(TEMP_SUFFIX):
                    continue
                path = Path(directory, name)
                source = generated_from(path) if path.is_file() and not path.is_symlink() else None
                if source is not None:
                    in_root.append((rel, customer_of_path(source)))
        found += sorted(in_root, key=lambda item: item[0].split("/"))  # as Paths sort
    return found


def generated_from(path: Path) -> str | None:
    """The source a generated file's header names (`customers/acme.yaml`,
    `gitops-gen.yaml`); None for a file gitops-gen did not generate, which it never touches.

    A generated JSON file names it in its first key, `"//"`, on the second line."""
    with path.open("rb") as handle:
        return _source_in_head(handle.readline(512), lambda: handle.readline(512))


def _source_in_head(first: bytes, second: Callable[[], bytes]) -> str | None:
    head = first.decode("utf-8", "replace")
    if head.rstrip() == "{":
        head = _json_note(second().decode("utf-8", "replace"))
    if not head.startswith(GENERATED_MARK):
        return None
    return head.removeprefix(GENERATED_MARK).split(";", 1)[0].strip().removeprefix("from ")


def _json_note(line: str) -> str:
    """A JSON object's `"//": "GENERATED by …"` line as the header comment it stands for."""
    try:
        note = json.loads("{" + line.strip().rstrip(",") + "}").get(JSON_NOTE_KEY)
    except ValueError:
        return ""
    return f"# {note}" if isinstance(note, str) else ""


def apply(root: Path, change: TreeChange, progress: Progress | None = None) -> Snapshot:
    """Make the tree hold `change`; the snapshot that puts it back. `progress`: told the
    files written or deleted, of how many.

    Generated files come first in `change.writes` as commands build it, hand-written ones
    (a spec, gitops-gen.yaml) last: a run killed before those left only generated files
    behind, which `compile` puts back. Each file is replaced atomically: renamed over,
    or, in a change of many files, swapped with a spare file (spare.py), which spares the
    file system an inode and its blocks freed and allocated per file. One write at a
    time, in order: eight threads writing (tried for a disk that made file creation
    wait) took 3x the time of one on this project's machine when creation was quick,
    and no less when it was slow (the file system then scans inodes freed in the last
    minutes under a lock; see benchmarks/README.md), burning the difference as kernel
    time spinning on that lock.
    """
    snapshot = take_snapshot(root, change.paths)
    total = len(change.writes) + len(change.deletes)
    done: list[str] = []  # the paths changed so far
    rel = ""
    try:
        _test_kill_point(len(done))
        made: set[Path] = set()  # directories known to exist
        spare = Spare.for_tree(root, len(change.writes))  # many files: spare.py
        for rel, content in change.writes.items():
            path = root / rel
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            if spare is None or not spare.write(
                    os.fspath(path), content, isinstance(snapshot.before[rel], bytes)):
                _replace(path, content)
            done.append(rel)
            _step(len(done), total, progress)
        for rel in change.deletes:
            path = root / rel
            path.unlink(missing_ok=True)
            _remove_empty_parents(root, path.parent)
            done.append(rel)
            _step(len(done), total, progress)
    except OSError as exc:  # a full disk, a read-only file system, a path taken meanwhile
        _put_back(Snapshot(root, {changed: snapshot.before[changed] for changed in done}),
                  rel, exc)
    return snapshot


def _put_back(changed: Snapshot, failed: str, exc: OSError) -> NoReturn:
    """After the write of `failed` raised `exc`: the paths changed before it as they
    were, and an InputError saying so (or that even that failed)."""
    cause = f"cannot write {failed}: {exc.strerror or exc}"
    try:
        changed.restore()
    except OSError as again:
        raise InputError(f"{cause}; putting back the files written before it failed too "
                         f"({again.strerror or again}): once the cause is fixed, "
                         "`gitops-gen compile` writes the tree whole again") from None
    raise InputError(f"{cause}; the files written before it were put back") from None


def _step(done: int, total: int, progress: Progress | None) -> None:
    _test_kill_point(done)
    if progress is not None:
        progress(done, total)


def _test_kill_point(done: int) -> None:
    """Test-only fault injection (tests/test_faults.py): with the environment variable
    set to N, the process SIGKILLs itself after N file operations of `apply` — a crash at
    an exact point between two writes, which a timed kill only hits by luck."""
    if os.environ.get(TEST_KILL_AFTER_WRITES) == str(done):
        os.kill(os.getpid(), signal.SIGKILL)


def write_atomic(path: Path, content: bytes) -> None:
    """Replace `path` with `content` so that a process killed at any point leaves the old
    or the new file, never a truncated one (rename is atomic).

    No fsync: it guards against power loss, not crashes, and cost 2 ms a file (9 s for a
    1,000-customer compile). What must survive power loss is the commit, and git owns it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, content)


def _replace(path: Path, content: bytes) -> None:
    """`write_atomic` in a directory that exists: the bytes go to a temporary file next
    to `path`, which is then renamed over it."""
    name = os.fspath(path)
    head, tail = os.path.split(name)
    tmp = os.path.join(head, f".{tail}{TEMP_SUFFIX}")  # one writer at a time: the lock
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove_empty_parents(root: Path, directory: Path) -> None:
    root = root.resolve()
    directory = directory.resolve()
    while directory != root and directory.is_relative_to(root):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def drift_findings(platform: Platform, change: TreeChange,
                   wanted: Mapping[str, RenderedFile]) -> list[Finding]:
    """Each difference between the tree and what `compile` would write, with a short diff."""
    findings = []
    for rel, content in change.writes.items():
        path = platform.path(rel)
        customer = wanted[rel].customer
        if path.is_symlink():  # its target is not quoted: it may lie outside the repository
            message = ("a symlink where this generated file belongs: `gitops-gen compile` "
                       "would replace it with the file")
            findings.append(Finding(rel, None, customer, "drift", message))
            continue
        if path.is_dir():
            message = ("a directory where this generated file belongs: move it away, then "
                       "run `gitops-gen compile`")
            findings.append(Finding(rel, None, customer, "drift", message))
            continue
        if path.exists() and not path.is_file():
            message = ("not a regular file (a FIFO, socket or device) where this generated "
                       "file belongs: `gitops-gen compile` would replace it")
            findings.append(Finding(rel, None, customer, "drift", message))
            continue
        if not path.is_file():
            above = _file_above(platform.root, rel)
            message = ("missing: `gitops-gen compile` would create it" if above == rel else
                       f"missing, and {above} is a file where its directory belongs: move "
                       "it away, then run `gitops-gen compile`")
            findings.append(Finding(rel, None, customer, "drift", message))
            continue
        line, diff = _short_diff(path.read_bytes(), content, rel)
        message = f"differs from what `gitops-gen compile` generates:\n{diff}"
        findings.append(Finding(rel, line, customer, "drift", message))
    for rel in change.deletes:
        source = generated_from(platform.path(rel)) or ""
        message = "generated file without a spec: `gitops-gen compile` would delete it"
        findings.append(Finding(rel, None, customer_of_path(source), "drift", message))
    return findings


def _short_diff(actual: bytes, wanted: bytes, rel: str, max_lines: int = 12) -> tuple[int, str]:
    old = actual.decode("utf-8", "replace").splitlines()
    new = wanted.decode("utf-8", "replace").splitlines()
    diff = list(difflib.unified_diff(old, new, f"{rel} (tree)", f"{rel} (compiled)",
                                     n=0, lineterm=""))
    first = next((ln for ln in diff if ln.startswith("@@")), "@@ -1 @@")
    line = int(first.split()[1].lstrip("-").split(",")[0] or 1) or 1
    body = diff[2:2 + max_lines]
    if len(diff) - 2 > max_lines:
        body.append(f"… {len(diff) - 2 - max_lines} more diff lines")
    return line, "\n".join("    " + ln for ln in body)
