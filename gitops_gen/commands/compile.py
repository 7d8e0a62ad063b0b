"""`gitops-gen compile [NAME...]`: regenerate the tree from the specs."""

from __future__ import annotations

from collections.abc import Sequence

from gitops_gen.compiler import plan_compile
from gitops_gen.console import Console
from gitops_gen.platform import Platform
from gitops_gen.spec import check_name
from gitops_gen.tree import apply


def run(platform: Platform, console: Console, names: Sequence[str]) -> int:
    for name in names:
        check_name(name)
    plan = plan_compile(platform, only=list(names) or None)
    apply(platform.root, plan.change)
    for rel in sorted(plan.change.writes):
        console.detail(f"wrote {rel}")
    for rel in plan.change.deletes:
        console.detail(f"deleted {rel}")
    console.summary(
        f"compiled {len(plan.specs) if not names else len(names)} customer(s): "
        f"{len(plan.change.writes)} written, {len(plan.change.deletes)} deleted"
    )
    return 0
