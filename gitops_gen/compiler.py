"""spec → render → plan: what the tree must hold for a set of specs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitops_gen.errors import InputError
from gitops_gen.model import RenderedFile
from gitops_gen.platform import Platform
from gitops_gen.progress import Progress
from gitops_gen.render import Renderer, files_by_path
from gitops_gen.rendercache import render_cache
from gitops_gen.spec import CustomerSpec, check_unique, load_all
from gitops_gen.speccache import spec_cache
from gitops_gen.stagetimes import timed
from gitops_gen.tree import TreeChange, plan_changes

# Rendering a customer costs about what reading and writing this many customers' entries
# of the render cache does (~2 ms against ~60 us).
_RENDER_COST_IN_PACK_ENTRIES = 30


@dataclass
class CompilePlan:
    specs: list[CustomerSpec]
    wanted: dict[str, RenderedFile]
    change: TreeChange


def plan_compile(
    platform: Platform,
    specs: Sequence[CustomerSpec] | None = None,
    only: Sequence[str] | None = None,
    cache: bool = True,
    jobs: int = 0,
    timings: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> CompilePlan:
    """The files for `specs` (default: every spec) and the change that brings the tree there.

    With `only`, just those customers are rendered and only their orphans deleted
    (platform-wide files are always rendered: they are cheap and shared). With `cache`,
    specs and customers whose inputs are unchanged since an earlier run are not checked
    and rendered again (speccache.py, rendercache.py), except that a few customers of
    many are rendered afresh (cheaper than the render cache). `jobs`: processes checking
    specs and rendering (forkpool.py); 0 = one per core. `timings`: seconds per stage
    (specs, render, diff) are added to it. `progress`: told the renders done, of how many.
    """
    seconds = {} if timings is None else timings
    with timed(seconds, "specs"):
        spec_memo = spec_cache(platform) if cache else None
        all_specs = list(specs) if specs is not None else load_all(platform, cache=spec_memo,
                                                                   jobs=jobs)
        problems = check_unique(all_specs)
    if problems:
        raise InputError("\n".join(problems))
    chosen = [s for s in all_specs if only is None or s.name in only]
    with timed(seconds, "render"):
        # The render cache is one file holding every customer's files (rendercache.py), read
        # and written whole (0.6 s at 10,000 customers, 40 MB): a few customers (one spec
        # changed) are quicker rendered afresh.
        few = only is not None and len(chosen) * _RENDER_COST_IN_PACK_ENTRIES < len(all_specs)
        renderer = Renderer(platform, render_cache(platform) if cache and not few else None,
                            jobs)
        # platform-wide files may list every customer (DNS records): render them for all
        wanted = files_by_path(renderer.render_all(chosen, fleet=all_specs,
                                                   progress=progress))
        if renderer.cache is not None:
            renderer.cache.flush()
    with timed(seconds, "diff"):  # what the tree holds against what it should
        owners: set[str | None] | None = None if only is None else {None, *only}
        change = plan_changes(platform, wanted, owners)
    return CompilePlan(all_specs, wanted, change)
