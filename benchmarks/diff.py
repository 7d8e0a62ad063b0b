"""Seconds `gitops-gen diff` takes after a chart change that touches every customer.

    .venv/bin/python benchmarks/diff.py [--customers 200] [--runs 3] [-j 0]

Scaffolds a platform with `gitops-gen init`, writes `--customers` specs, compiles and
commits them, then adds a label to the chart's Service template (so every customer's
inputs differ and each app is built twice: at HEAD and in the working tree) and times
`gitops-gen diff` as a user runs it, a new process each time. Prints the median and the
spread, and a tag bump of one customer for comparison (one app rebuilt, the rest skipped
by their input digests).

A script, not a test: numbers depend on the machine (cores: helm and kustomize processes
run `-j` at a time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIT_IDENTITY = ["-c", "user.name=Benchmark", "-c", "user.email=benchmark@example.com"]


def gitops_gen(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "gitops_gen", *args], cwd=root,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"gitops-gen {' '.join(args)} exited {proc.returncode}:\n"
                         f"{proc.stdout}{proc.stderr}")
    return proc


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *GIT_IDENTITY, *args], cwd=root, check=True, capture_output=True)


def make_platform(parent: Path, customers: int) -> Path:
    root = parent / "platform"
    gitops_gen(parent, "init", str(root))
    for i in range(customers):
        name = f"customer{i:04d}"
        (root / f"customers/{name}.yaml").write_text(f"name: {name}\n")
    gitops_gen(root, "compile")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{customers} customers")
    return root


def time_diff(root: Path, runs: int, jobs: int) -> tuple[list[float], int]:
    """Wall-clock seconds of each run, and the number of changed objects reported."""
    seconds, changed = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = gitops_gen(root, "diff", "--format", "json", "-j", str(jobs))
        seconds.append(time.perf_counter() - start)
        changed = len(json.loads(proc.stdout))
    return seconds, changed


def report(title: str, seconds: list[float], changed: int) -> None:
    print(f"{title}: median {statistics.median(seconds):.2f} s "
          f"(min {min(seconds):.2f}, max {max(seconds):.2f}; {changed} objects changed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-j", "--jobs", type=int, default=0, help="0 = one per core")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitops-gen-bench-diff-") as tmp:
        root = make_platform(Path(tmp), args.customers)
        print(f"{args.customers} customers, {os.cpu_count()} cores, -j {args.jobs}")
        service = root / "gitops/chart/templates/service.yaml"
        original = service.read_text()
        service.write_text(original.replace("\n  labels:\n",
                                            "\n  labels:\n    example.com/team: web\n", 1))
        report("chart template change", *time_diff(root, args.runs, args.jobs))
        service.write_text(original)
        spec = root / "customers/customer0000.yaml"
        spec.write_text(spec.read_text() + 'image:\n  tag: "9.9.9"\n')
        gitops_gen(root, "compile")
        report("one customer's tag bump", *time_diff(root, args.runs, args.jobs))


if __name__ == "__main__":
    main()
