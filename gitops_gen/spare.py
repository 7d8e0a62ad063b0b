"""Replacing many files without freeing (or allocating) an inode and its blocks apiece.

`tree.apply` replaces a file by writing a temporary file and renaming it over the old
one: atomic, but each replacement allocates an inode and frees another, data blocks
and all. On this project's benchmark machine (ext4 mounted with `discard`: each freed
block is trimmed on the spot) that cost ~0.25 ms a file, 2.3-2.6 s of a 10,000-customer
`bump-image` on one core, where writing the same bytes over old ones took 0.1 s.

So the files of a large change are written through one spare file kept in the
repository's git directory (`<git common dir>/gitops-gen-spare`, beside the writer
lock that keeps two runs from it): the new bytes go over the spare's (written from the
start, then cut to length: its blocks are kept), and the spare and the file it replaces
are swapped in one atomic `renameat2(RENAME_EXCHANGE)`. The path holds the new file at
once, whole, as after a rename; the spare holds the old one, whose inode and blocks
the next file's bytes go over. A new file takes the spare's place by a plain rename (and
a new spare is made). 9,000 files then take ~0.2 s, and a run killed at any point
leaves each file old or new, as the rename did.

The spare becomes a file of the tree, so it is made one as a new file would be: a
regular file of one link (anything else there is removed, never written through), with
the mode a new file gets (0o666 less the umask). Between runs it holds the last file
replaced's old bytes: deleting it is always safe. Where a spare cannot serve (outside
git, not Linux, a file system without RENAME_EXCHANGE or another than the tree's), the
files are written the plain way.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from gitops_gen.lock import git_common_dir

SPARE_FILE = "gitops-gen-spare"
USE_FROM = 100  # writes in a change from which the spare is used (fewer: the plain way)
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2

Exchange = Callable[[str, str], None]


class Spare:
    """The spare file of one run (the writer lock held)."""

    def __init__(self, path: str, exchange: Exchange) -> None:
        self._path = path
        self._exchange = exchange
        self._mode = 0o666 & ~_umask()
        self.broken = False  # an exchange failed: the plain way for the rest of the run

    @classmethod
    def for_tree(cls, root: Path, writes: int) -> Spare | None:
        """The spare of the repository holding `root`, for a change of `writes` files;
        None where it would not serve."""
        exchange = _renameat2() if writes >= USE_FROM else None
        try:
            common = git_common_dir(root) if exchange is not None else None
        except OSError:  # no git to ask: the plain way
            return None
        if exchange is None or common is None:
            return None
        return cls(os.fspath(common / SPARE_FILE), exchange)

    def write(self, target: str, content: bytes, replacing: bool) -> bool:
        """Make the file `target` hold `content` through the spare: swapped with the
        regular file there (`replacing`), or renamed into place. False: not written (the
        caller writes it the plain way)."""
        if self.broken or not self._fill(content):
            return False
        try:
            if replacing:
                self._exchange(self._path, target)  # the spare now holds the old file
            else:
                os.rename(self._path, target)
        except OSError:
            self.broken = True  # EXDEV, EINVAL (no RENAME_EXCHANGE here), ENOENT...
            return False
        return True

    def _fill(self, content: bytes) -> bool:
        """Write `content` over the spare's bytes (a new spare if there is none); False
        if it is not a plain regular file of this run's to write (it is removed)."""
        try:  # O_NONBLOCK: a FIFO there fails (ENXIO) where it would wait for a reader
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                         | os.O_NONBLOCK, self._mode)
        except OSError:  # a symlink (ELOOP), a directory, a FIFO, not ours
            self._remove()
            return False
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                raise OSError("not a regular file of one link")  # writing would show elsewhere
            if stat.S_IMODE(info.st_mode) != self._mode:
                os.fchmod(fd, self._mode)  # it was a file of the tree, of any mode
            view, offset = memoryview(content), 0
            while offset < len(view):
                offset += os.pwrite(fd, view[offset:], offset)
            os.ftruncate(fd, len(content))
        except OSError:
            os.close(fd)
            self._remove()
            return False
        os.close(fd)
        return True

    def _remove(self) -> None:
        """No spare any more: the next write makes one (a directory there stays: then
        every write goes the plain way)."""
        with contextlib.suppress(OSError):
            os.unlink(self._path)


def _umask() -> int:
    """The process's umask, read where the kernel shows it: setting it to read it back
    would change it for a moment for every thread."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _renameat2() -> Exchange | None:
    """`renameat2(a, b, RENAME_EXCHANGE)` from the C library; None if there is none."""
    if os.uname().sysname != "Linux":
        return None
    import ctypes  # here: a compile of a few files (a no-op one too) need not load it
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int

    def exchange(a: str, b: str) -> None:
        if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
                    _RENAME_EXCHANGE) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), b)

    return exchange
