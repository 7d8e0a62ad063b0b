"""Image tags as the OCI distribution spec defines them, minus the ones policy forbids."""

from __future__ import annotations

import json
import re

from gitops_gen.errors import InputError

# OCI distribution spec: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}; or a content digest
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


def check_tag(tag: str) -> str:
    shown = json.dumps(tag) if len(tag) <= 40 else json.dumps(tag[:40])[:-1] + '…"'
    if not tag:
        raise InputError("image tag is empty")
    if tag == "latest":
        raise InputError("image tag 'latest' is refused: it does not say what runs; use a "
                         "version or a sha256: digest")
    if len(tag) > 128 and not tag.startswith("sha256:"):
        raise InputError(f"image tag {shown} is {len(tag)} characters; at most 128 are allowed")
    if not (_TAG.fullmatch(tag) or _DIGEST.fullmatch(tag)):
        raise InputError(
            f"image tag {shown} is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]*, at most "
            "128 characters) or digest (sha256: and 64 hex digits)"
        )
    return tag
