"""Rendered customer files kept outside the tree, addressed by everything rendering reads.

Rendering a customer (Jinja2, then parsing and re-emitting every file canonically) costs
~0.5 ms a file: 20 s for 10,000 customers of four files, on every `compile` and
`validate`. A customer whose spec, templates and platform config have been rendered
before renders the same: its files are read back from `<cache_root>/renders/`.

The key is a sha256 over `FORMAT`, the gitops-gen version, the source of the rendering
modules, every file under templates/, the platform config, and what the customer's
templates see of its spec (name, spec file, namespace, host, tier, data). Only renders
that succeeded are stored. All the customers of one platform context are one
`cachestore.PackStore` file (checksum checked on read, each entry's key too).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import jinja2
import yaml

import gitops_gen
from gitops_gen.cachestore import PackStore, encode
from gitops_gen.model import RenderedFile
from gitops_gen.platform import TEMPLATE_DIR, Platform
from gitops_gen.spec import CustomerSpec
from gitops_gen.toolchain import cache_root

FORMAT = 1
KEEP_PACKS = 8  # one pack per platform context (templates, config, code)
# What turns a spec into files: an edit to any of them must not keep an old render.
_RENDER_MODULES = ("render.py", "yamlemit.py", "platform.py", "model.py")


class RenderCache:
    """The rendered files of one platform's customers (templates and config fixed)."""

    def __init__(self, directory: Path, context: str) -> None:
        self._store = PackStore(directory / f"{context}.json", FORMAT, KEEP_PACKS)
        self._context = context

    @classmethod
    def for_platform(cls, directory: Path, platform: Platform) -> RenderCache | None:
        """None when the templates or config cannot be read as a key (rendering then
        does its work, and reports what is wrong)."""
        context = hashlib.sha256()
        try:
            for part in (str(FORMAT), gitops_gen.__version__, jinja2.__version__,
                         yaml.__version__, json.dumps(platform.config, sort_keys=True)):
                context.update(part.encode() + b"\0")
            _hash_package(context)
            _hash_tree(context, platform.path(TEMPLATE_DIR))
        except (OSError, TypeError, ValueError):
            return None
        return cls(directory, context.hexdigest())

    def get(self, spec: CustomerSpec) -> list[RenderedFile] | None:
        if not self._store.holds(spec.name):
            return None  # a cold cache: no key to tell
        key = self._key(spec)
        payload = self._store.get(spec.name, key) if key else None
        if not isinstance(payload, list):
            return None
        try:
            return [RenderedFile(str(path), str(text).encode("utf-8"), spec.name)
                    for path, text in payload]
        except (TypeError, ValueError):
            return None

    def put(self, spec: CustomerSpec, files: list[RenderedFile]) -> None:
        self.put_entry(spec.name, self.entry(spec, files))

    def entry(self, spec: CustomerSpec, files: list[RenderedFile]) -> tuple[str, str] | None:
        """What `put` stores for these files: (key, encoded payload), or None (not
        kept). Told apart from `put_entry` so that the processes that render can do it."""
        key = self._key(spec)
        try:
            payload = [[f.path, f.content.decode("utf-8")] for f in files]
        except UnicodeDecodeError:
            return None
        if key and all(f.customer == spec.name for f in files):
            return key, encode(payload)
        return None

    def put_entry(self, owner: str, entry: tuple[str, str] | None) -> None:
        if entry is not None:
            self._store.put_encoded(owner, *entry)

    def flush(self) -> None:
        """Write what was put (once per run: every customer of a platform is one file)."""
        self._store.flush()

    def _key(self, spec: CustomerSpec) -> str | None:
        try:
            seen = json.dumps([spec.name, spec.path, spec.namespace, spec.host, spec.tier,
                               spec.data], sort_keys=True)
        except (TypeError, ValueError):
            return None  # keys of mixed types: render every time
        return hashlib.sha256(f"{self._context}\0{seen}".encode()).hexdigest()


def render_cache(platform: Platform) -> RenderCache | None:
    """The render cache in the user cache directory (`$GITOPS_GEN_CACHE/renders`)."""
    return RenderCache.for_platform(cache_root() / "renders", platform)


def _hash_package(digest: hashlib._Hash) -> None:
    package = Path(gitops_gen.__file__).parent
    for module in _RENDER_MODULES:
        digest.update((package / module).read_bytes())


def _hash_tree(digest: hashlib._Hash, root: Path) -> None:
    """Names and bytes of every file under `root`: any template may include any other.
    A symlink may lead anywhere: no key (ValueError)."""
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        if any((Path(directory) / name).is_symlink() for name in [*dirs, *files]):
            raise ValueError(f"symlink in {directory}")
        for name in sorted(files):
            path = Path(directory) / name
            digest.update(f"\0{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
