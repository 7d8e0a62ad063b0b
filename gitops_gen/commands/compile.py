"""`gitops-gen compile [NAME...]`: regenerate the tree from the specs."""

from __future__ import annotations

from collections.abc import Sequence

from gitops_gen.console import Console
from gitops_gen.errors import InputError
from gitops_gen.platform import Platform
from gitops_gen.progress import progress_bar
from gitops_gen.runmemo import RunMemo, run_memo
from gitops_gen.spec import check_name
from gitops_gen.stagetimes import StageTimes
from gitops_gen.tree import apply
from gitops_gen.treestat import TreeStat, tree_json, tree_of_json, tree_stat


def run(platform: Platform, console: Console, names: Sequence[str], jobs: int = 0,
        times: StageTimes | None = None) -> int:
    """`times`: where the stages (memo, specs, render, diff, write, record) say how long
    they took."""
    times = times or StageTimes()
    for name in names:
        check_name(name)
    _refuse_unknown(platform, names)
    # A whole-tree compile remembers the tree it left (runmemo.py): if no file's stats
    # have changed since, there is nothing to do; if only some customers' files have,
    # only they are compiled again (with the platform-wide files, as always).
    with times.stage("memo"):
        memo = run_memo(platform, "compile", {}) if not names else None
        tree = tree_stat(platform) if memo else None
        only: list[str] | None = list(names) or None
        earlier = _tree_of(memo) if memo is not None and tree is not None else None
        changed = (tree.changed_customers(earlier, platform.root)
                   if tree is not None and earlier is not None else None)
    if memo is not None and tree is not None and changed == set():
        if earlier is not None and tree.racy != earlier.racy:
            memo.save(tree_json(tree))  # settled since: stats alone will do next time
        console.summary(f"compiled {len(tree.customers)} customer(s): 0 written, 0 deleted")
        return 0
    if changed:
        only = sorted(changed)
    from gitops_gen.compiler import plan_compile  # rendering's imports: not for a no-op

    plan = plan_compile(platform, only=only, jobs=jobs, timings=times.seconds,
                        progress=progress_bar(console.err, "render"))
    with times.stage("write"):
        apply(platform.root, plan.change, progress_bar(console.err, "write"))
    for rel in sorted(plan.change.writes):
        console.detail(f"wrote {rel}")
    for rel in plan.change.deletes:
        console.detail(f"deleted {rel}")
    with times.stage("record"):
        if memo is not None and (after := tree_stat(platform)) is not None:
            memo.save(tree_json(after))
    console.summary(
        f"compiled {len(plan.specs) if not names else len(names)} customer(s): "
        f"{len(plan.change.writes)} written, {len(plan.change.deletes)} deleted"
    )
    return 0


def _tree_of(memo: RunMemo) -> TreeStat | None:
    record = memo.load()
    try:
        return tree_of_json(record) if record else None
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _refuse_unknown(platform: Platform, names: Sequence[str]) -> None:
    """A NAME with neither a spec nor any file generated for it (a typo) is an input
    error, not a compile that does nothing; a removed customer's NAME compiles away what
    was generated for it."""
    outputs = platform.customer_outputs()
    unknown = [name for name in names
               if not platform.path(platform.spec_path(name)).exists()
               and not any(platform.path(rule.path_for(name)).exists() for rule in outputs)]
    if unknown:
        known = ", ".join(platform.customer_names()) or "none yet"
        raise InputError(f"unknown customer(s) {', '.join(unknown)}: no spec and nothing "
                         f"generated for them (customers: {known})")
