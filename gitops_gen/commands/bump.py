"""`gitops-gen bump-image TAG`: move the fleet (or named customers) to a new image.

Only tag lines change in hand-written files: `image.tag` in gitops-gen.yaml (the fleet
tag every unpinned customer follows) and in the specs that set their own tag. Then the
tree is recompiled, validated and committed once. With --push, a push the remote
rejected because it moved on is replayed: the tag edits are merged three-way onto the
remote's version of each file (a real conflict stops with exit 1), the whole tree is
recompiled and revalidated on the new base, committed and pushed again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from gitops_gen.compiler import plan_compile
from gitops_gen.console import Console
from gitops_gen.errors import InputError
from gitops_gen.gitrepo import GitOps, PushRejected, Upstream, require_repo
from gitops_gen.handwritten import read_text
from gitops_gen.imagetag import check_tag
from gitops_gen.platform import CONFIG_FILE, Platform, load_platform, platform_from_text
from gitops_gen.progress import Progress, progress_bar
from gitops_gen.spec import CustomerSpec, check_name, load_all, parse_spec
from gitops_gen.speccache import spec_cache
from gitops_gen.specedit import set_scalar
from gitops_gen.stagetimes import StageTimes, timed
from gitops_gen.transaction import Outcome, commit_change
from gitops_gen.tree import TreeChange
from gitops_gen.validate import ValidateFactory, Written

TAG_PATH = ("image", "tag")


@dataclass
class Bump:
    """The hand-written files a bump edits: path -> (text before, text after)."""

    tag: str
    edits: dict[str, tuple[str, str]]
    moved: list[str]  # customers whose image changes
    pinned_moved: list[str]
    specs: list[CustomerSpec]  # every spec, as read before the edits

    @property
    def message(self) -> str:
        who = ", ".join(self.moved) if len(self.moved) <= 5 else f"{len(self.moved)} customers"
        return f"Bump image to {self.tag} for {who}"


def run(
    platform: Platform,
    console: Console,
    tag: str,
    customers: Sequence[str],
    no_commit: bool,
    push: bool,
    retries: int,
    validator: ValidateFactory,
    times: StageTimes | None = None,
) -> int:
    check_tag(tag)
    times = times or StageTimes()
    for name in customers:
        check_name(name)
    if push and no_commit:
        raise InputError("--push needs a commit to push; drop --no-commit")
    git_ops = GitOps(require_repo(platform.root)) if push else None
    upstream = git_ops.upstream() if git_ops else None
    with times.stage("plan"):
        bump = plan_bump(platform, tag, customers)
    if not bump.edits:
        console.summary(f"nothing to do: every targeted customer already runs {tag}")
        return 0
    for name in bump.pinned_moved:
        console.warn(f"{name} is pinned; moved to {tag} because it was named (still pinned)")
    outcome = _commit(platform, bump, no_commit, validator, times,
                      progress_bar(console.err, "build"))
    if not outcome.ok:
        return _refused(console, outcome)
    if git_ops is None or upstream is None:
        where = outcome.commit_text()
        console.summary(f"{bump.message}: {len(outcome.paths)} files, {where}")
        return 0
    with times.stage("push"):  # replays onto a remote that moved included
        return _push(platform, console, bump, git_ops, upstream, retries, validator)


def plan_bump(platform: Platform, tag: str, named: Sequence[str]) -> Bump:
    specs = load_all(platform, cache=spec_cache(platform))
    bump = Bump(tag, {}, [], [], specs)
    if named:
        by_name = {s.name: s for s in specs}
        unknown = sorted(set(named) - set(by_name))
        if unknown:
            raise InputError(f"unknown customer(s): {', '.join(unknown)}")
        targets = [by_name[n] for n in sorted(set(named))]
    else:
        targets = [s for s in specs if not s.pinned]
        if platform.image_tag != tag:
            _edit(platform, bump, CONFIG_FILE)
    for spec in targets:
        if _tag_of(platform, spec) == tag:
            continue
        bump.moved.append(spec.name)
        if spec.pinned:
            bump.pinned_moved.append(spec.name)
        if named or _own_tag(spec) is not None:
            _edit(platform, bump, spec.path)
    return bump


def _edit(platform: Platform, bump: Bump, rel: str) -> None:
    path = platform.path(rel)
    if path.is_symlink():
        # writing replaced the link with a file; writing through it may change another
        # platform's copy (stage and production sharing a spec, say)
        raise InputError(f"{rel} is a symlink (to {os.readlink(path)}): bump-image edits "
                         "no file through a link; set the tag in the file it points to, or "
                         "make it a regular file")
    before = read_text(path, rel)  # line breaks as they are: `\r\n` kept
    bump.edits[rel] = (before, set_scalar(before, rel, TAG_PATH, bump.tag))


def _own_tag(spec: CustomerSpec) -> str | None:
    tag = (spec.data.get("image") or {}).get("tag")
    return str(tag) if tag is not None else None


def _tag_of(platform: Platform, spec: CustomerSpec) -> str:
    return _own_tag(spec) or platform.image_tag


def _commit(platform: Platform, bump: Bump, no_commit: bool, validator: ValidateFactory,
            times: StageTimes, progress: Progress | None) -> Outcome:
    with times.stage("compile"):
        compiled = compile_with(platform, {rel: new for rel, (_, new) in bump.edits.items()},
                                times.inner.setdefault("compile", {}), read=bump.specs)
    return commit_change(platform, compiled.change, bump.message,
                         validator(platform, compiled.customers, times, progress,
                                   written=compiled.written),
                         no_commit, owned(platform, bump), times)


def owned(platform: Platform, bump: Bump) -> list[str]:
    """The generated files a bump is about: the moved customers' and the platform's."""
    rules = platform.customer_outputs()
    return [*(rule.path_for(name) for name in bump.moved for rule in rules),
            *(rule.path_for(None) for rule in platform.platform_outputs())]


@dataclass
class Compiled:
    """The tree as it would be if the hand-written files had other texts."""

    change: TreeChange  # those files, and every generated file that changes with them
    customers: list[str]  # whose generated files change
    written: Written  # every generated file the tree then holds, and every spec's data


def compile_with(platform: Platform, texts: dict[str, str],
                 timings: dict[str, float] | None = None,
                 read: Sequence[CustomerSpec] | None = None) -> Compiled:
    """The tree if the hand-written files had `texts`. `timings`: seconds per stage of
    the compile (`plan_compile`'s) are added to it. `read`: the specs as just read from
    `platform` (checked), not read again unless `texts` changes what checks them."""
    config = texts.get(CONFIG_FILE)
    target = platform_from_text(platform.root, config) if config else platform
    # a spec's validity depends on the config's tier names only (speccache.py)
    known = {s.name: s.data for s in read} if read is not None and (
        sorted(target.tiers) == sorted(platform.tiers)) else None
    with timed({} if timings is None else timings, "specs"):
        specs = load_all(target, cache=spec_cache(target), known=known)
        edited = {s.name: s for s in specs}
        for rel, text in texts.items():
            if rel != CONFIG_FILE:
                name = rel.removeprefix("customers/").removesuffix(".yaml")
                edited[name] = parse_spec(target, name, text)
    plan = plan_compile(target, list(edited.values()), timings=timings)
    touched = {plan.wanted[rel].customer for rel in plan.change.writes}
    plan.change.writes.update({rel: text.encode("utf-8") for rel, text in texts.items()})
    return Compiled(plan.change, sorted(name for name in touched if name),
                    Written(plan.wanted, {name: spec.data for name, spec in edited.items()}))


def _push(platform: Platform, console: Console, bump: Bump, git_ops: GitOps,
          upstream: Upstream, retries: int, validator: ValidateFactory) -> int:
    start = git_ops.head()  # our commit; its parent is where the command started
    try:
        return _push_replaying(platform, console, bump, git_ops, upstream, retries,
                               validator, start)
    except InputError as exc:
        # The push failed for good (rejected every time, no network, no access): the
        # command failed, so its commit goes too, as on every other failure.
        git_ops.reset_keep(f"{start}~1")
        raise InputError(f"{exc}\nnothing was pushed and the local branch is as before"
                         ) from None


def _push_replaying(platform: Platform, console: Console, bump: Bump, git_ops: GitOps,
                    upstream: Upstream, retries: int, validator: ValidateFactory,
                    start: str) -> int:
    for attempt in range(retries + 1):
        try:
            git_ops.push(upstream)
        except PushRejected:
            if attempt == retries:
                raise InputError(f"push to {upstream.ref} rejected {retries + 1} times (the "
                                 "remote keeps moving)") from None
            if not _replay(platform, console, bump, git_ops, upstream, start, validator):
                return 1
            continue
        console.summary(f"{bump.message}: commit {git_ops.head()} pushed to {upstream.ref}"
                        + (f" after {attempt} replay(s)" if attempt else ""))
        return 0
    raise AssertionError("unreachable")


def _replay(platform: Platform, console: Console, bump: Bump, git_ops: GitOps,
            upstream: Upstream, start: str, validator: ValidateFactory) -> bool:
    """Redo the bump on top of the moved remote; False (and the branch as before) if the
    remote changed the same lines or the result does not validate."""
    git_ops.fetch(upstream)
    merged: dict[str, str] = {}
    for rel, (before, after) in bump.edits.items():
        theirs = git_ops.show(upstream.ref, rel)
        result = git_ops.merge_text(before, after, theirs) if theirs is not None else None
        if result is None:
            git_ops.reset_keep(f"{start}~1")
            console.summary(f"conflict: {rel} was changed on {upstream.ref} too; nothing was "
                            "pushed and the local branch is as before. Pull, then bump again.")
            return False
        merged[rel] = result
    git_ops.reset_keep(upstream.ref)
    fresh = load_platform(platform.root)
    compiled = compile_with(fresh, merged)
    outcome = commit_change(fresh, compiled.change, bump.message,
                            validator(fresh, compiled.customers, written=compiled.written),
                            False, owned(fresh, bump))
    if not outcome.ok:
        git_ops.reset_keep(f"{start}~1")
        _refused(console, outcome)
        return False
    return True


def _refused(console: Console, outcome: Outcome) -> int:
    console.findings(outcome.findings or [])
    console.summary("not bumped: the tree with the new tag fails validation; nothing changed")
    return 1
