"""What the tree holds, told by file stats: which customers' files changed since a run.

A no-op `validate` of 10,000 customers must not read 50,000 files. Like git's index,
this module identifies a file by what `stat` says of it — size, mtime, ctime and inode —
and reads nothing. Every file under the platform root except `.git/` is stated and
attributed either to one customer (its spec and the files the customer output rules
render for it) or to the platform ("shared": config, templates, schemas, charts, any
stray file). `TreeStat` holds one digest for the shared files and one per customer; runmemo.py
keeps the results of a run under them.

Stats alone can miss a change in one case: a file rewritten at the same size within the
timestamp granularity of the file system, right after it was stated (git's "racy
clean" problem). So a file changed within `RACY_SECONDS` (`COARSE_RACY_SECONDS` where
its timestamps are whole milliseconds, as on file systems with coarse clocks) before it
is stated is "racy": its content hash is kept beside the digests, and a later
comparison reads it again (`changed_customers`), as git compares racily clean files by
content. ctime cannot be set from user space, so restoring an mtime with `touch -d` does
not hide an edit either.

A tree this module cannot describe exactly (a symlink to a directory, a file that
vanishes while it is stated) has no `TreeStat`: callers then do the full work.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_gen.platform import Platform

# Linux file systems stamp files from a clock that moves every jiffy (1-10 ms); files
# whose stamps are whole milliseconds may come from a coarser one (FAT: 2 s).
RACY_SECONDS = 0.1
COARSE_RACY_SECONDS = 2.5
_SKIPPED_DIRS = frozenset({".git"})


@dataclass(frozen=True)
class TreeStat:
    shared: str  # digest of the stats of every file not attributed to one customer
    customers: dict[str, str]  # customer -> digest of the stats of its spec and files
    # files changed just before they were stated: path -> [customer or "", content sha256]
    racy: dict[str, list[str]] = field(default_factory=dict)

    def changed_customers(self, earlier: TreeStat, root: Path) -> set[str] | None:
        """The customers whose files differ from `earlier`'s (an empty set: no file has
        changed); None when the shared files or the set of customers differ (then
        everything may have changed). Files racy in `earlier` are compared by content."""
        if self.shared != earlier.shared or self.customers.keys() != earlier.customers.keys():
            return None
        changed = {name for name, digest in self.customers.items()
                   if earlier.customers[name] != digest}
        for rel, (owner, digest) in earlier.racy.items():
            if owner in changed or self._content_digest(root, rel) == digest:
                continue
            if not owner:
                return None
            changed.add(owner)
        return changed

    def _content_digest(self, root: Path, rel: str) -> str | None:
        if rel in self.racy:
            return self.racy[rel][1]
        try:
            return _sha256(root / rel)
        except OSError:
            return None


def tree_json(tree: TreeStat) -> dict[str, Any]:
    """`tree` as JSON data, for a record (`tree_of_json` reads it back)."""
    return {"shared": tree.shared, "customers": tree.customers, "racy": tree.racy}


def tree_of_json(data: Any) -> TreeStat:
    """The `TreeStat` a record holds; raises KeyError, TypeError or ValueError when it
    holds none."""
    racy = {str(rel): [str(owner), str(digest)] for rel, (owner, digest) in
            dict(data.get("racy", {})).items()}
    return TreeStat(str(data["shared"]), {str(k): str(v) for k, v in
                                          dict(data["customers"]).items()}, racy)


def tree_stat(platform: Platform) -> TreeStat | None:
    """The stat digests of the platform's tree; None where stats cannot vouch for it."""
    root = platform.root
    names = platform.customer_names()
    owner = {platform.spec_path(name): name for name in names}
    for rule in platform.customer_outputs():
        for name in names:
            owner.setdefault(rule.path_for(name), name)
    shared = hashlib.sha256()
    digests = {name: hashlib.sha256() for name in names}
    missing = set(owner)
    racy: dict[str, list[str]] = {}
    now = time.time_ns()
    try:
        for rel, described, path, changed_ns in _entries(root):
            who = owner.get(rel)
            if who is None:
                shared.update(described)
            else:
                digests[who].update(described)
                missing.discard(rel)
            window = COARSE_RACY_SECONDS if changed_ns % 1_000_000 == 0 else RACY_SECONDS
            if changed_ns >= now - window * 1e9 and path is not None:
                racy[rel] = [who or "", _sha256(path)]
    except (OSError, _NotDescribable):
        return None
    # a customer's file that is missing is part of what its digest says
    for rel in sorted(missing):
        digests[owner[rel]].update(os.fsencode(f"{rel}\0absent\n"))
    return TreeStat(shared.hexdigest(), {name: d.hexdigest() for name, d in digests.items()},
                    racy)


def _sha256(path: str | Path) -> str:
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


class _NotDescribable(Exception):
    pass


def _entries(root: Path) -> Iterator[tuple[str, bytes, str | None, int]]:
    """(repo-relative path, what its stats say, its path to read or None, when it last
    changed) for every file under `root`, in an order that depends on the names only
    (each directory sorted, depth first)."""
    stack = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name, reverse=True)
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in _SKIPPED_DIRS:
                    stack.append((entry.path, rel + "/"))
                continue
            yield _describe(entry, rel)


def _describe(entry: os.DirEntry[str], rel: str) -> tuple[str, bytes, str | None, int]:
    try:
        info = entry.stat()  # through a symlink: the content is the target's
    except FileNotFoundError:
        if entry.is_symlink():  # dangling: its target names what is missing
            return rel, os.fsencode(f"{rel}\0->{os.readlink(entry.path)}\n"), None, 0
        raise _NotDescribable(rel) from None
    if stat.S_ISDIR(info.st_mode):
        raise _NotDescribable(rel)  # a symlinked directory: its files are not walked
    described = (f"{rel}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\0"
                 f"{info.st_ino}\0{info.st_mode}")
    if entry.is_symlink():
        described += f"\0->{os.readlink(entry.path)}"
    changed_ns = max(info.st_mtime_ns, info.st_ctime_ns)
    # only a regular file's bytes are read when it is racy: opening a FIFO would block
    readable = entry.path if stat.S_ISREG(info.st_mode) else None
    return rel, os.fsencode(described + "\n"), readable, changed_ns
