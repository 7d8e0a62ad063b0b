"""Validated specs kept outside the tree, addressed by their bytes and what checks them.

Loading a spec costs ~1 ms (a comment-keeping YAML parse, the schema, the secret
checks): 10 s for 10,000 customers, on every `compile` and `validate`. A spec whose
bytes have been validated before, against the same customer schema, tier names and
validation code, is valid again: its plain data is read back from
`<cache_root>/specs/` instead.

The key is a sha256 over `FORMAT`, the gitops-gen version, the source of the modules
whose rules decide validity, the customer schema, the platform's tier names (all of its
config that validity depends on), the customer's name and the spec's bytes. Only specs
that passed are stored (a failing one is checked, and reported, every time), and only
when their data survives JSON unchanged. All the specs of one platform context are one
`cachestore.PackStore` file (checksum checked on read, each entry's key too).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import gitops_gen
from gitops_gen.cachestore import PackStore, source_digest, survives_json
from gitops_gen.platform import CUSTOMER_SCHEMA, Platform
from gitops_gen.toolchain import cache_root

FORMAT = 2  # 2: keyed by the tier names, not the whole platform config
KEEP_PACKS = 8  # one pack per platform context (config, schema, code)
# The modules whose rules decide whether a spec is valid: an edit to any of them (in a
# checkout, without a version bump) must not keep an old verdict.
_RULE_MODULES = ("spec.py", "plainyaml.py", "handwritten.py", "yamlio.py", "schemacheck.py",
                 "platform.py")


class SpecCache:
    """The validated specs of one platform (its schema and config fixed)."""

    def __init__(self, directory: Path, context: str) -> None:
        self._store = PackStore(directory / f"{context}.json", FORMAT, KEEP_PACKS)
        self._context = context

    @classmethod
    def for_platform(cls, directory: Path, platform: Platform) -> SpecCache | None:
        """The cache for `platform`'s specs; None when what checks them cannot be read
        (loading then reports why)."""
        try:
            schema = platform.path(CUSTOMER_SCHEMA).read_bytes()
            # what of the config a spec's validity depends on (spec.py `validate_spec`):
            # the tier names. Not the whole config: `bump-image` changes its image tag,
            # and must not have 10,000 unchanged specs checked again (~1 ms each).
            config = json.dumps(sorted(platform.tiers))
            rules = source_digest(_RULE_MODULES)
        except (OSError, TypeError, ValueError):
            return None
        context = hashlib.sha256()
        for part in (str(FORMAT), gitops_gen.__version__, rules, config):
            context.update(part.encode() + b"\0")
        context.update(schema)
        return cls(directory, context.hexdigest())

    def get(self, name: str, raw: bytes) -> dict[str, Any] | None:
        data = self._store.get(name, self._key(name, raw))
        return data if isinstance(data, dict) else None

    def put(self, name: str, raw: bytes, data: dict[str, Any]) -> None:
        if not survives_json(data):
            return
        self._store.put(name, self._key(name, raw), data)

    def flush(self) -> None:
        """Write what was put (once per run: every entry of a platform is one file)."""
        self._store.flush()

    def _key(self, name: str, raw: bytes) -> str:
        digest = hashlib.sha256(f"{self._context}\0{name}\0".encode())
        digest.update(raw)
        return digest.hexdigest()


def spec_cache(platform: Platform) -> SpecCache | None:
    """The spec cache in the user cache directory (`$GITOPS_GEN_CACHE/specs`)."""
    return SpecCache.for_platform(cache_root() / "specs", platform)

