"""How many cores a gitops-gen run keeps busy, moment by moment.

    .venv/bin/python benchmarks/busy.py [--step 0.1] -- validate --timings

Runs `gitops-gen ARGS` in the current directory (a platform, e.g. one `fleet_scale.py
--dir` left, or `fleet.make_platform`'s) and prints, every `--step` seconds, the cores
the whole machine kept busy (from /proc/stat: 2.0 on two cores is both all the time),
then the run's stderr (its `--timings`). A run bound by CPU shows 2.0 where its work is
spread over both cores, and about 1.0 where one process works alone: those stretches are
what a cold run could still win without spending less CPU. The machine's other work
counts too: run it on a quiet machine. Linux only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def cpu_times() -> tuple[int, int]:
    """(all, idle) jiffies of the machine since boot."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]  # idle + iowait


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", type=float, default=0.5, help="seconds per sample")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="gitops-gen's arguments")
    options = parser.parse_args()
    args = [a for a in options.args if a != "--"] or ["validate", "--timings"]
    cores = len(os.sched_getaffinity(0))
    run = subprocess.Popen([sys.executable, "-m", "gitops_gen", *args],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    busy: list[float] = []
    last = cpu_times()
    while run.poll() is None:
        time.sleep(options.step)
        now = cpu_times()
        total, idle = now[0] - last[0], now[1] - last[1]
        last = now
        busy.append(cores * (1 - idle / total) if total else 0.0)
    assert run.stderr is not None
    print(f"cores busy every {options.step} s ({cores} cores):")
    print(" ".join(f"{b:.1f}" for b in busy))
    print(run.stderr.read().rstrip())


if __name__ == "__main__":
    main()
