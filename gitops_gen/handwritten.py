"""Reading a hand-edited file's text: bounded in size, UTF-8, every problem an InputError.

Apart from the YAML modules (`yamlio.py`) so that a command can read a file, and find
it already checked (`configcache.py`), without importing a YAML parser.
"""

from __future__ import annotations

from pathlib import Path

from gitops_gen.errors import InputError

# A spec is a few hundred bytes, a platform config a few KiB; ruamel needs ~1 s per 20 KiB
# of dense YAML, so this also bounds the time one hostile file can cost.
MAX_BYTES = 64 * 1024


def read_text(path: Path, display: str) -> str:
    """Read a hand-edited file: bounded size, UTF-8."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror}") from None
    if size > MAX_BYTES:
        raise InputError(f"{display}: file is {size} bytes, more than the {MAX_BYTES} allowed")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{display}:{line}: not valid UTF-8 (byte {exc.start})") from None
