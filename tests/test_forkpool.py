"""Spec checks and renders across cores (forkpool.py): the same results as one by one.

A platform of 240 customers is past the point where `compile` forks; the files it
writes are compared with each customer rendered here, in this process, one by one.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_gen import forkpool
from gitops_gen.errors import InputError
from gitops_gen.platform import load_platform
from gitops_gen.render import Renderer
from gitops_gen.spec import load_all
from tests.conftest import cli, tree_state

MANY = 240  # more than forkpool.MINIMUM
TIERS = ("small", "standard", "large")


def test_work_runs_in_forked_workers_and_comes_back_in_order() -> None:
    # a fresh interpreter: this one may have loaded Helm's Go runtime (other tests), and
    # then map_forked rightly runs the work in-process
    probe = ("import os\nfrom gitops_gen import forkpool\n"
             "out = forkpool.map_forked(lambda i: (i * i, os.getpid()), 500, jobs=2)\n"
             "print([s for s, _ in out] == [i * i for i in range(500)],"
             " os.getpid() in {p for _, p in out}, len({p for _, p in out}) <= 2)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.split()
    # in order; none done here; by at most two workers (one may take every chunk)
    assert out == ["True", "False", "True"]


def test_progress_is_told_as_chunks_come_back() -> None:
    """Forked (a fresh interpreter, as above): (items done, 500) per chunk, in order, the
    last (500, 500); in-process: per item."""
    probe = ("from gitops_gen import forkpool\nseen = []\n"
             "forkpool.map_forked(lambda i: i, 500, jobs=2,"
             " progress=lambda done, total: seen.append((done, total)))\nprint(seen)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    seen = ast.literal_eval(out)
    dones = [done for done, _ in seen]
    assert len(seen) == 8 and dones == sorted(dones) and seen[-1] == (500, 500)
    assert {total for _, total in seen} == {500}
    here: list[tuple[int, int]] = []
    forkpool.map_forked(lambda i: i, 3, progress=lambda done, total: here.append((done, total)))
    assert here == [(1, 3), (2, 3), (3, 3)]


def test_small_or_single_job_work_runs_here() -> None:
    for count, jobs in ((10, 2), (500, 1)):
        pids = {pid for pid in forkpool.map_forked(lambda i: os.getpid(), count, jobs=jobs)}
        assert pids == {os.getpid()}


def test_the_first_input_error_in_item_order_is_raised() -> None:
    def work(i: int) -> int:
        if i in (123, 456):
            raise InputError(f"item {i}")
        return i

    with pytest.raises(InputError, match="item 123"):
        forkpool.map_forked(work, 500, jobs=2)


@pytest.fixture
def many(platform: Path, cache: Path) -> Path:
    for i in range(MANY):
        name = f"c{i:03d}"
        pin = 'image:\n  tag: "0.9.0"\n  pinned: true\n' if i % 7 == 0 else ""
        (platform / "customers" / f"{name}.yaml").write_text(
            f"name: {name}\ntier: {TIERS[i % 3]}\n{pin}")
    return platform


@pytest.mark.parametrize("jobs", [[], ["-j", "2"], ["-j", "1"]], ids=["cores", "two", "one"])
def test_a_forked_compile_writes_what_rendering_one_by_one_gives(
    many: Path, jobs: list[str]
) -> None:
    result = cli("compile", *jobs, cwd=many)
    assert result.code == 0, result.text
    platform = load_platform(many)
    specs = load_all(platform)  # the cache is bypassed: every spec checked again, here
    renderer = Renderer(platform)
    expected = [f for spec in specs for f in renderer._render_customer(spec)]
    assert len(expected) == MANY * len(platform.customer_outputs())
    for file in expected:
        assert (many / file.path).read_bytes() == file.content, file.path


def test_every_bad_spec_of_a_forked_check_is_reported(many: Path) -> None:
    for name in ("c017", "c200"):
        path = many / "customers" / f"{name}.yaml"
        path.write_text(path.read_text().replace("tier: ", "tier: nope-"))
    result = cli("compile", cwd=many)
    assert result.code == 2
    assert "customers/c017.yaml:2: tier: unknown tier 'nope-" in result.err
    assert "customers/c200.yaml:2: tier: unknown tier 'nope-" in result.err
    assert not (many / "gitops/apps/customer-c000").exists()  # nothing written


@pytest.mark.parametrize("command", ["compile", "validate", "diff"])
def test_jobs_past_any_machine_are_a_usage_error(many: Path, command: str) -> None:
    """`-j 100000` forked a process per job (each may hold Helm's Go runtime) until the
    machine ran out; the tree is as before."""
    before = tree_state(many)
    result = cli(command, "-j", "100000", cwd=many)
    assert result.code == 2 and "0<=x<=256" in result.err, result.text
    assert tree_state(many) == before
