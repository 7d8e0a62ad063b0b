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
clean" problem). So a file changed less than `RACY_SECONDS` before it is stated is also
hashed by content, and its digest then covers the bytes too. ctime cannot be set from
user space, so restoring an mtime with `touch -d` does not hide an edit either.

A tree this module cannot describe exactly (a symlink to a directory, a file that
vanishes while it is stated) has no `TreeStat`: callers then do the full work.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.platform import Platform

RACY_SECONDS = 2.0  # coarser than any timestamp granularity a Linux or macOS fs has
_SKIPPED_DIRS = frozenset({".git"})


@dataclass(frozen=True)
class TreeStat:
    shared: str  # digest of every file not attributed to one customer
    customers: dict[str, str]  # customer -> digest of its spec and rendered files

    def changed_customers(self, earlier: TreeStat) -> set[str] | None:
        """The customers whose files differ from `earlier`'s; None when the shared files
        or the set of customers differ (then everything may have changed)."""
        if self.shared != earlier.shared or self.customers.keys() != earlier.customers.keys():
            return None
        return {name for name, digest in self.customers.items()
                if earlier.customers[name] != digest}


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
    try:
        for rel, described in _entries(root, time.time_ns() - int(RACY_SECONDS * 1e9)):
            who = owner.get(rel)
            if who is None:
                shared.update(described)
            else:
                digests[who].update(described)
                missing.discard(rel)
    except (OSError, _NotDescribable):
        return None
    # a customer's file that is missing is part of what its digest says
    for rel in sorted(missing):
        digests[owner[rel]].update(f"{rel}\0absent\n".encode())
    return TreeStat(shared.hexdigest(), {name: d.hexdigest() for name, d in digests.items()})


class _NotDescribable(Exception):
    pass


def _entries(root: Path, racy_from_ns: int) -> Iterator[tuple[str, bytes]]:
    """(repo-relative path, what identifies its content) for every file under `root`, in
    an order that depends on the names only (each directory sorted, depth first)."""
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
            yield rel, _describe(entry, rel, racy_from_ns)


def _describe(entry: os.DirEntry[str], rel: str, racy_from_ns: int) -> bytes:
    try:
        info = entry.stat()  # through a symlink: the content is the target's
    except FileNotFoundError:
        if entry.is_symlink():  # dangling: its target names what is missing
            return f"{rel}\0->{os.readlink(entry.path)}\n".encode()
        raise _NotDescribable(rel) from None
    if stat.S_ISDIR(info.st_mode):
        raise _NotDescribable(rel)  # a symlinked directory: its files are not walked
    described = (f"{rel}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\0"
                 f"{info.st_ino}\0{info.st_mode}")
    if entry.is_symlink():
        described += f"\0->{os.readlink(entry.path)}"
    if max(info.st_mtime_ns, info.st_ctime_ns) >= racy_from_ns:
        with open(entry.path, "rb") as file:
            described += "\0" + hashlib.sha256(file.read()).hexdigest()
    return (described + "\n").encode()
