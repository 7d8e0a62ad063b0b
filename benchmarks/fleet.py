"""A generated platform of N customers in a temp dir, for the benchmark scripts."""

from __future__ import annotations

import compileall
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gitops_gen as package

TIERS = ("small", "standard", "large")


def byte_compile() -> None:
    """Byte-compile gitops-gen now, as installing a package does: the venv's editable
    install leaves that to each import, and where PYTHONDONTWRITEBYTECODE is set (this
    machine), every process measured would compile the modules it imports again
    (~0.1 s), a cost no installed gitops-gen has."""
    compileall.compile_dir(Path(package.__file__).parent, quiet=1)


def gitops_gen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as users run it; a non-zero exit stops the benchmark loudly."""
    proc = subprocess.run([sys.executable, "-m", "gitops_gen", *args], cwd=cwd,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"gitops-gen {' '.join(args)} exited {proc.returncode}:\n"
                         f"{proc.stdout}{proc.stderr}")
    return proc


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com",
                    *args], cwd=cwd, check=True, capture_output=True)


def make_platform(root: Path, customers: int) -> Path:
    """`init`, N specs (a mix of tiers, some pinned), `compile`, one commit."""
    gitops_gen("init", str(root), cwd=root.parent)
    for i in range(customers):
        name = f"c{i:05d}"
        pin = "image:\n  tag: \"0.9.0\"\n  pinned: true\n" if i % 10 == 0 else ""
        spec = f"name: {name}\ntier: {TIERS[i % 3]}\n{pin}"
        (root / "customers" / f"{name}.yaml").write_text(spec)
    gitops_gen("compile", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", f"{customers} customers", cwd=root)
    return root


def timed(action: Callable[[], object], runs: int = 3,
          reset: Callable[[], object] | None = None) -> float:
    """Median wall-clock seconds of `action` over `runs` (with `reset` before each)."""
    return measured(action, runs, reset)[0]


def measured(action: Callable[[], object], runs: int = 3,
             reset: Callable[[], object] | None = None) -> tuple[float, float]:
    """Median wall-clock seconds and median CPU seconds (`cpu_seconds`) of `action` over
    `runs` (with `reset` before each)."""
    walls, cpus = [], []
    for _ in range(runs):
        if reset is not None:
            reset()
        cpu, start = cpu_seconds(), time.perf_counter()
        action()
        walls.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of every child it has waited for
    (a child's count holds the children it waited for: worker processes, kustomize)."""
    own, children = (resource.getrusage(who)
                     for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"


def side_by_side(processes: int = 2, loops: int = 3_000_000) -> float:
    """How many times one process's work `processes` processes do together in the same
    time: a pure-Python loop run alone, then in `processes` forked copies at once (best
    of 3 each). `processes` on cores of their own give `processes`; hyperthreads of one
    core, or a host that shares its cores, give less."""
    def loop() -> None:
        total = 0
        for number in range(loops):
            total += number & 7

    def best(copies: int) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            workers = [multiprocessing.get_context("fork").Process(target=loop)
                       for _ in range(copies)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            times.append(time.perf_counter() - start)
        return min(times)

    return processes * best(1) / best(processes)
