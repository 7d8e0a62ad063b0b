"""Tool versions remembered for the very binaries that told them.

`helm version` and `kubectl version` take ~0.1 s together, and every `validate` that
builds anything asks them (build cache keys name the versions): a tenth of a validate
after one spec changed at 10,000 customers. The answer is kept under the identity of
the files that gave it: each tool's path, the file it resolves to, and that file's
device, inode, size, mtime and ctime (as git's index, and the run memo, tell a file
unchanged). Only for tools that resolve to an ELF executable of their own name: a
version manager's shim (a script, or a symlink to the manager's own binary) answers
for whatever it dispatches to, which its own stats do not tell, so such tools are asked
every time, as is a binary changed in the last few seconds (a change within the same
timestamp tick would not show).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from gitops_gen.cachestore import read_entry, write_entry

FORMAT = 1
KEEP = 16  # a few toolchains (PATH, pinned, configured), a few versions of each
_SETTLED_SECONDS = 3.0  # a binary changed more recently is not remembered yet


def remembered_versions(directory: Path, tools: Sequence[Path], command: Sequence[str],
                        ask: Callable[[], dict[str, str]]) -> dict[str, str]:
    """What `ask()` answers for these tool binaries (and kustomize `command`): from
    `directory` if these very files answered before."""
    identity = _identity(tools, command)
    if identity is None:
        return ask()
    key, settled = identity
    path = directory / f"{key}.json"
    known = read_entry(path, FORMAT, key)
    if isinstance(known, dict) and known and all(
            isinstance(k, str) and isinstance(v, str) for k, v in known.items()):
        return known
    versions = ask()
    if settled:
        write_entry(path, FORMAT, key, versions, KEEP)
    return versions


def _identity(tools: Sequence[Path], command: Sequence[str]) -> tuple[str, bool] | None:
    """The key of these binaries, and whether all of them are settled; None: they are
    not ones whose stats tell their version."""
    digest = hashlib.sha256(f"{FORMAT}\0{chr(0).join(command)}\0".encode())
    newest = 0
    for tool in tools:
        try:
            resolved = os.path.realpath(tool)
            if os.path.basename(resolved) != tool.name:
                return None  # a symlink to another program (a version manager's shim)
            with open(resolved, "rb") as binary:
                if binary.read(4) != b"\x7fELF":
                    return None  # a script: it runs whatever it names
                info = os.fstat(binary.fileno())
        except OSError:
            return None
        newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
        digest.update(f"{tool}\0{resolved}\0{info.st_dev}\0{info.st_ino}\0{info.st_size}\0"
                      f"{info.st_mtime_ns}\0{info.st_ctime_ns}\n".encode())
    settled = newest < time.time_ns() - _SETTLED_SECONDS * 1e9
    return digest.hexdigest(), settled
