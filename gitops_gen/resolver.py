"""`Path.resolve` for the many paths of one run, each directory resolved once.

`Path.resolve` costs an lstat per path component (and a Python-level walk): for the
~10 paths a customer's build resolves, 10,000 customers cost ~9 s of the main process.
Here a directory's resolution is kept, and a path costs one lstat on top of its parent's
(a symlink is still resolved whole). Equal to `Path.resolve()` (not strict) while the
tree does not change under the run.
"""

from __future__ import annotations

from pathlib import Path


class Resolver:
    def __init__(self) -> None:
        self._directories: dict[Path, Path] = {}

    def resolve(self, path: Path) -> Path:
        if not path.is_absolute() or ".." in path.parts:
            return path.resolve()
        return self._resolved(path, keep=False)

    def _resolved(self, path: Path, keep: bool) -> Path:
        if (known := self._directories.get(path)) is not None:
            return known
        parent = path.parent
        if parent == path:
            return path  # the file system root
        candidate = self._resolved(parent, keep=True) / path.name
        resolved = candidate.resolve() if candidate.is_symlink() else candidate
        if keep:
            self._directories[path] = resolved
        return resolved
