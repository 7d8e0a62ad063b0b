"""Content-addressed JSON entries outside the tree: what the build, spec and render
caches share.

`EntryStore` keeps one file per entry (builds: large, and written only after a build
that cost far more than a file); `PackStore` keeps all the entries of a kind in one file
(specs and renders: small and many). An entry file is two lines: a header
`{"format", "key", "sha256"}` and the payload, whose sha256 the header holds. A read
that finds another key or format, or a checksum that does not match, treats the entry as
absent (and the work that follows overwrites it): a cache is never trusted further than
doing the work again would be. Files are written atomically (a temporary file renamed
into place), so concurrent runs never see half an entry. `EntryStore` entries live in
one directory per owner (a customer), which keeps only its newest `keep` entries: a
fleet-wide change adds one entry per owner, and old ones go.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

_SAFE_DIR = re.compile(r"[a-z0-9][-a-z0-9]{0,62}")


class EntryStore:
    """Entries under `directory`, each checked against the key and format asked for."""

    def __init__(self, directory: Path, format_version: int, keep: int) -> None:
        self.directory, self.format, self.keep = directory, format_version, keep

    def get(self, owner: str, key: str) -> Any:
        """The payload stored under `key`, or None if there is none that checks out."""
        return read_entry(self._path(owner, key), self.format, key)

    def put(self, owner: str, key: str, payload: Any) -> None:
        """Store `payload` (JSON) under `key`. A cache that cannot be written is no cache:
        the error is swallowed, and the next run does the work again."""
        path = self._path(owner, key)
        try:
            try:
                path.parent.mkdir(parents=True)
                crowded = False  # a new directory holds nothing to prune
            except FileExistsError:
                crowded = True
            _write_atomic(path, _entry(self.format, key, _json_bytes(payload)))
            if crowded:
                _keep_newest(path.parent, self.keep)
        except OSError:
            return

    def _path(self, owner: str, key: str) -> Path:
        name = owner if _SAFE_DIR.fullmatch(owner) else (
            "_" + hashlib.sha256(owner.encode()).hexdigest()[:32])
        return self.directory / name / f"{key}.json"


def _write_atomic(path: Path, content: bytes) -> None:
    # A name of this process's own: concurrent runs writing one entry never share it.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(content)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _keep_newest(directory: Path, keep: int) -> None:
    entries = [e for e in os.scandir(directory) if e.name.endswith(".json")]
    if len(entries) <= keep:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
    for stale in entries[keep:]:
        Path(stale.path).unlink(missing_ok=True)


class PackStore:
    """Every entry of one kind and context in one file, read once and written once per
    run: where thousands of small entries would cost a file creation each (~0.1-1 ms).

    The file is checked as a whole (format, its own name as key, checksum) and each entry
    by its key; entries are kept as JSON text, so what a caller does with a payload it got
    can never change what is stored. `flush` writes the entries read plus those put (the
    customers of other runs stay), atomically; a directory keeps its newest `keep` packs.
    """

    def __init__(self, path: Path, format_version: int, keep: int) -> None:
        self.path, self.format, self.keep = path, format_version, keep
        self._entries: dict[str, Any] | None = None
        self._new: dict[str, list[str]] = {}

    def get(self, owner: str, key: str) -> Any:
        entry = self._new.get(owner) or self._read().get(owner)
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == key):
            return None
        try:
            return json.loads(entry[1])
        except (TypeError, ValueError):
            return None

    def put(self, owner: str, key: str, payload: Any) -> None:
        self._new[owner] = [key, json.dumps(payload, separators=(",", ":"))]

    def flush(self) -> None:
        if not self._new:
            return
        entries = {**self._read(), **self._new}
        write_entry(self.path, self.format, self.path.stem, entries, self.keep)
        self._entries, self._new = entries, {}

    def _read(self) -> dict[str, Any]:
        if self._entries is None:
            entries = read_entry(self.path, self.format, self.path.stem)
            self._entries = entries if isinstance(entries, dict) else {}
        return self._entries


def read_entry(path: Path, format_version: int, key: str) -> Any:
    """The payload of an entry file under `key`; None if there is none that checks out."""
    try:
        header_line, _, payload = path.read_bytes().partition(b"\n")
        header = json.loads(header_line)
        if header != {"format": format_version, "key": key,
                      "sha256": hashlib.sha256(payload).hexdigest()}:
            return None
        return json.loads(payload)
    except (OSError, ValueError):
        return None


def write_entry(path: Path, format_version: int, key: str, payload: Any,
                keep: int | None = None) -> None:
    """Store `payload` (JSON) in its own file under `key`, and keep only the newest `keep`
    entries of its directory; errors are swallowed (no cache)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, _entry(format_version, key, _json_bytes(payload)))
        if keep is not None:
            _keep_newest(path.parent, keep)
    except OSError:
        pass


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _entry(format_version: int, key: str, body: bytes) -> bytes:
    """An entry file: a header line naming its format, key and the body's checksum."""
    header = {"format": format_version, "key": key, "sha256": hashlib.sha256(body).hexdigest()}
    return json.dumps(header).encode() + b"\n" + body
