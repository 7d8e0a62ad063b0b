"""Pure-Python work over many customers on every core: forked workers, results back.

Rendering a customer (Jinja2, then YAML parsed and written again) or checking a spec
(a comment-keeping parse, the schema) costs ~1-3 ms of Python, one core at a time under
the GIL: 20-30 s for 10,000 customers. Forked workers start in milliseconds with
everything the parent has loaded (templates compiled, schemas read), and send back only
results (bytes, small dataclasses), so `map_forked` runs such work on all cores.

It forks only where that is safe and worth it: on Linux, with at least `minimum` items
and two cores, and before the process has loaded Helm's Go runtime (a forked copy of a
running Go runtime is not usable; builds load it, after rendering). Otherwise the work
runs here, in order, the same way. Either way the results are in the order of the items,
and an exception raised for an item is raised here (the first, in item order).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from gitops_gen.errors import InputError
from gitops_gen.progress import Progress

T = TypeVar("T")
MINIMUM = 200  # below this many items the workers' start-up (~10-20 ms each) is not won back
_CHUNKS_PER_WORKER = 4  # uneven items even out; each chunk is one message back

# The work of the running `map_forked`, for the workers it forks (inherited, not pickled).
_work: Callable[[int], Any] | None = None


def cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def map_forked(work: Callable[[int], T], count: int, jobs: int = 0,
               minimum: int = MINIMUM, progress: Progress | None = None) -> list[T]:
    """`[work(i) for i in range(count)]`, across `jobs` forked workers (0: one per core)
    where that is safe and worth it. `progress` is told (items done, count) as chunks of
    them come back, in order."""
    jobs = jobs or cores()
    if count < minimum or jobs < 2 or not _fork_is_safe():
        return [_told(progress, i + 1, count, work(i)) for i in range(count)]
    global _work
    _work = work
    try:
        step = -(-count // (jobs * _CHUNKS_PER_WORKER))
        chunks = [(start, min(start + step, count)) for start in range(0, count, step)]
        done: list[list[tuple[bool, Any]]] = []
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for (_, end), chunk in zip(chunks, pool.imap(_run_chunk, chunks, chunksize=1),
                                       strict=True):
                done.append(_told(progress, end, count, chunk))
    finally:
        _work = None
    results = []
    for chunk in done:
        for ok, value in chunk:
            if not ok:
                raise value  # the first input error in item order, as in-process
            results.append(value)
    return results


def _told(progress: Progress | None, done: int, count: int, result: T) -> T:
    if progress is not None:
        progress(done, count)
    return result


def _run_chunk(bounds: tuple[int, int]) -> list[tuple[bool, Any]]:
    assert _work is not None, "a forked worker inherits the work"
    out: list[tuple[bool, Any]] = []
    for i in range(*bounds):
        try:
            out.append((True, _work(i)))
        except InputError as error:
            out.append((False, error))
            break  # the items after it would not have run in-process either
    return out


def _fork_is_safe() -> bool:
    return sys.platform == "linux" and "helm_python._native" not in sys.modules
