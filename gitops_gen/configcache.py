"""Validated `gitops-gen.yaml` configs kept outside the tree, addressed by their bytes.

Every command starts by loading the platform config: a comment-keeping YAML parse and
a JSON Schema check whose imports alone (ruamel.yaml, jsonschema) cost ~0.1 s, a tenth
of a no-op `validate` at 10,000 customers. A config whose bytes passed before, under
the same checking code and schema, passes again: its plain data is read back from
`<cache_root>/configs/<key>.json` instead.

The key is a sha256 over `FORMAT`, the gitops-gen version, the source of the modules
whose rules decide validity, the platform schema, the policy rule ids and the config's
bytes. Only configs that passed are stored (a failing one is checked, and reported,
every time), and only when their data survives JSON unchanged. An entry that does not
check out (checksum, key) is no entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import gitops_gen
from gitops_gen.cachestore import read_entry, source_digest, survives_json, write_entry
from gitops_gen.toolchain import cache_root

FORMAT = 1
KEEP = 16  # a few platforms, a few versions of each config
# The files whose rules decide whether a config is valid: an edit to any of them (in a
# checkout, without a version bump) must not keep an old verdict.
_RULE_FILES = ("platform.py", "platform.schema.json", "handwritten.py", "yamlio.py",
               "schemacheck.py")


def recall(raw: bytes, rule_ids: Iterable[str]) -> dict[str, Any] | None:
    """The plain data of a config with these bytes that passed every check, if one did."""
    key = _key(raw, rule_ids)
    if key is None:
        return None
    data = read_entry(_path(key), FORMAT, key)
    return data if isinstance(data, dict) else None


def remember(raw: bytes, rule_ids: Iterable[str], data: dict[str, Any]) -> None:
    """Note that a config with these bytes passed every check and reads as `data`."""
    if not survives_json(data):
        return
    key = _key(raw, rule_ids)
    if key is not None:
        write_entry(_path(key), FORMAT, key, data, KEEP)


def _path(key: str) -> Path:
    return cache_root() / "configs" / f"{key}.json"


def _key(raw: bytes, rule_ids: Iterable[str]) -> str | None:
    try:
        rules = source_digest(_RULE_FILES)
    except OSError:
        return None  # not knowing what checks a config, nothing is remembered
    digest = hashlib.sha256(f"{FORMAT}\0{gitops_gen.__version__}\0{rules}\0".encode())
    digest.update(("\0".join(sorted(rule_ids)) + "\0").encode())
    digest.update(raw)
    return digest.hexdigest()
