"""`gitops-gen list`: who is deployed where, on which image, pinned or lagging."""

from __future__ import annotations

import json

from gitops_gen.console import Console
from gitops_gen.platform import Platform
from gitops_gen.spec import CustomerSpec, load_all

COLUMNS = ("NAME", "HOST", "TIER", "TAG", "PINNED", "STATUS")


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
    status = "-" if fleet is None else "current" if tag == fleet else f"lags ({fleet})"
    if spec.data.get("lifecycle") == "retiring":
        status = "retiring"
    return (spec.name, spec.host, spec.tier["name"] or "-", tag,
            "yes" if spec.pinned else "no", status)
