"""`gitops-gen list`: who is deployed where, on which image, pinned, behind or ahead."""

from __future__ import annotations

import json
import re

from gitops_gen.console import Console
from gitops_gen.platform import Platform
from gitops_gen.spec import CustomerSpec, load_all

COLUMNS = ("NAME", "HOST", "TIER", "TAG", "PINNED", "STATUS")
# tags whose order is plain: `1.4.2`, `v2.0` (a pre-release or a digest has none here)
_DOTTED_VERSION = re.compile(r"v?(\d+(?:\.\d+)*)")


def run(platform: Platform, console: Console, output: str) -> int:
    rows = [_row(platform, spec) for spec in load_all(platform)]
    if output == "json":
        console.summary(json.dumps([dict(zip(COLUMNS, r, strict=True)) for r in rows], indent=2))
        return 0
    table = [COLUMNS, *rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(COLUMNS))]
    for row in table:
        console.summary("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))
                        .rstrip())
    return 0


def _row(platform: Platform, spec: CustomerSpec) -> tuple[str, ...]:
    # A platform with several images (in its vars) has no fleet tag to compare with.
    fleet = platform.image_tag if platform.has_image else None
    tag = str((spec.data.get("image") or {}).get("tag") or fleet or "-")
    status = "-" if fleet is None else "current" if tag == fleet else _relation(tag, fleet)
    if spec.data.get("lifecycle") == "retiring":
        status = "retiring"
    return (spec.name, spec.host, spec.tier["name"] or "-", tag,
            "yes" if spec.pinned else "no", status)


def _relation(tag: str, fleet: str) -> str:
    """How a customer's tag stands to the fleet's: behind or ahead where both are dotted
    versions (a customer pinned back, a canary), else only that it differs."""
    ours, theirs = _DOTTED_VERSION.fullmatch(tag), _DOTTED_VERSION.fullmatch(fleet)
    if ours is None or theirs is None:
        return f"differs (fleet {fleet})"
    mine = [int(part) for part in ours.group(1).split(".")]
    fleets = [int(part) for part in theirs.group(1).split(".")]
    width = max(len(mine), len(fleets))  # 1.4 is 1.4.0
    mine, fleets = mine + [0] * (width - len(mine)), fleets + [0] * (width - len(fleets))
    if mine == fleets:
        return f"differs (fleet {fleet})"  # 1.4 and 1.4.0 are two images
    return f"{'behind' if mine < fleets else 'ahead of'} fleet {fleet}"
