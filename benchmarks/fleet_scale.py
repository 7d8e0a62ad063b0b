"""Issue 7's cases at fleet scale, against the pure render floor measured in the same run.

    .venv/bin/python benchmarks/fleet_scale.py [--customers 1000] [--runs 3]

Makes a platform of N customers (`fleet.make_platform`) with caches of its own
(`GITOPS_GEN_CACHE` in the temp dir, the pinned tools linked in), then prints the median
of `--runs` runs of each case, each as its own `gitops-gen` process(es), as a hook or CI
runs them:

- floor: the pure render floor — the same templates rendered by Jinja2 (compiled once)
  with the same contexts and written as files into an empty directory; no YAML
  canonicalisation, no drift check, no build, no validation;
- cold: `compile` into a tree without generated files and with empty caches (builds,
  specs, renders, run memos), then `validate` (which finds the specs and renders
  `compile` just cached, and no builds); the last run's `--timings` of both;
- no-op `compile` and no-op `validate` after a full run;
- one spec changed (and compiled, untimed), then `validate`;
- `bump-image` of the fleet, commit included (and the last one's `--timings`);

and the peak RSS of the cold `validate` process (wait4's rusage). Beside the cold
`validate`, the **helm floor**: what Helm's Go SDK alone takes to render every
customer's chart in 2 forked processes, as `validate` renders them, from the same
requests; its output is neither parsed nor checked, and kustomize does not run; and the
**kustomize floor**: every overlay built by kustomize alone, in `validate`'s batches,
its output unread. No build of a tree can take less CPU than both together (see
benchmarks/README.md). Each case's CPU seconds (its own, its workers' and its tools')
are printed beside its wall time, with the cores it kept busy on average; and, at the
start and at the end, how much of one process's work two processes side by side did
(`fleet.side_by_side`: 2.0 where each has a core of its own).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from fleet import (  # this script's directory
    byte_compile,
    machine,
    make_platform,
    measured,
    side_by_side,
)

from gitops_gen.argocd import applications, argocd_objects
from gitops_gen.build import _plan
from gitops_gen.helm_inprocess import InProcessHelm, RenderRequest
from gitops_gen.kustomize_batch import ORIGIN, batches, write_batch_root
from gitops_gen.platform import load_platform
from gitops_gen.procs import go_gc_env, run
from gitops_gen.render import Renderer, customer_context
from gitops_gen.resolver import Resolver
from gitops_gen.spec import load_all
from gitops_gen.toolchain import cache_root, find_toolchain
from gitops_gen.tree import generated_files

GENERATED = ("gitops/apps", "gitops/argocd")


STDERR: list[str] = []  # what the last `run_measured` printed to stderr (--timings)


def run_measured(root: Path, *args: str) -> int:
    """Run the CLI (a failure stops the benchmark); the process's peak RSS in KiB."""
    proc = subprocess.Popen([sys.executable, "-m", "gitops_gen", *args], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    STDERR[:] = [proc.stderr.read()]
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"gitops-gen {' '.join(args)} failed:\n{STDERR[0]}")
    return int(usage.ru_maxrss)


def set_aside(paths: Sequence[Path], trash: Path) -> None:
    """Move `paths` into `trash` (a rename: no inode is freed).

    Deleting them instead made the cold cases measure the deletion: on ext4 without a
    journal (this VM's root file system) a new inode is never one freed in the last
    60-300 s, and each file created checks the freed ones it passes over (`perf`: the
    kernel's `recently_deleted`). Right after 50,000 files were deleted, creating 20,000
    took 13-19 s of kernel time instead of 0.5-1.6 s; a fresh checkout pays nothing of it.
    """
    trash.mkdir(parents=True)
    for number, path in enumerate(paths):
        if path.exists():
            path.rename(trash / f"{number}-{path.name}")


def render_floor(root: Path, out: Path) -> Callable[[], None]:
    """Jinja2 render + write of the files compile writes, templates compiled once."""
    platform = load_platform(root)
    specs = load_all(platform)
    env = Renderer(platform).env  # the same Environment (undefined, finalize) compile uses
    rules = [(env.get_template(rule.template), rule) for rule in platform.customer_outputs()]
    contexts = [(spec.name, customer_context(platform, spec)) for spec in specs]

    def floor() -> None:
        for name, context in contexts:
            for template, rule in rules:
                path = out / rule.path_for(name)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(template.render(context), "utf-8")
    return floor


class _Requests:
    """Where build._plan hands the renders it plans (as to build's worker processes)."""

    def __init__(self) -> None:
        self.requests: list[RenderRequest] = []

    def add(self, request: RenderRequest) -> None:
        self.requests.append(request)


def helm_floor(root: Path, jobs: int = 2) -> Callable[[], None]:
    """Every customer's chart rendered by the SDK alone, in `jobs` forked processes."""
    platform = load_platform(root)
    objects, _ = argocd_objects(root, generated_files(platform))
    builds = [(name, app) for name, apps in sorted(applications(objects).items())
              for app in apps]
    planned = _Requests()
    _plan(root, builds, find_toolchain(platform.tools), platform.kube_version or "",
          planned, Resolver())  # type: ignore[arg-type]
    requests = planned.requests
    assert len(requests) >= len(builds) // 2, "few charts to render: no floor"
    chunks = [requests[i::jobs] for i in range(jobs)]

    def floor() -> None:
        # forked like build.py's workers: this process never loads the SDK
        with get_context("fork").Pool(jobs) as pool:
            rendered = sum(pool.map(_render_texts, chunks))
        assert rendered == len(requests), "the SDK refused some renders: no floor"
    return floor


def _render_texts(requests: Sequence[RenderRequest]) -> int:
    helm = InProcessHelm.load()
    assert helm is not None
    return sum(helm.render(*request) is not None for request in requests)


def kustomize_floor(root: Path, jobs: int = 2) -> Callable[[], None]:
    """Every customer's overlay built by kustomize alone, in the batches `validate` makes
    (`kustomize_batch.batches`, the same root kustomizations), `jobs` at a time; the
    output is neither parsed nor attributed to overlays."""
    platform = load_platform(root)
    overlays = [path.resolve() for path in sorted((root / "gitops" / "apps").iterdir())
                if (path / "kustomization.yaml").is_file()]
    command = find_toolchain(platform.tools).kustomize_cmd
    chunks = batches(overlays, jobs)
    assert len(overlays) >= 2 and sum(map(len, chunks)) == len(overlays), "no overlays to batch"

    def build(batch_root: Path) -> int:
        out: str = run([*command, str(batch_root)], cwd=batch_root, env=go_gc_env()).stdout
        return out.count(ORIGIN)

    def floor() -> None:
        with tempfile.TemporaryDirectory(prefix="kustomize-floor-") as tmp, \
                ThreadPoolExecutor(jobs) as pool:
            roots = []
            for number, chunk in enumerate(chunks):
                roots.append(Path(tmp, str(number)).resolve())
                roots[-1].mkdir()
                write_batch_root(roots[-1], chunk)
            built = sum(pool.map(build, roots))
        assert built >= len(overlays), "kustomize built fewer objects than overlays: no floor"
    return floor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to make the platform (default: the system temp dir; "
                             "file creation in /tmp is ~15x slower than elsewhere on some "
                             "machines, this one included)")
    args = parser.parse_args()
    n, runs = args.customers, args.runs
    byte_compile()
    print(f"{n} customers, medians of {runs} runs; {machine()}; in {args.dir or '$TMPDIR'}")
    # what the host gives two processes at once moves from minute to minute (fleet.py)
    probes = [side_by_side()]
    with tempfile.TemporaryDirectory(prefix="gitops-gen-scale-", dir=args.dir) as tmp:
        tools = cache_root() / "tools"
        os.environ["GITOPS_GEN_CACHE"] = str(Path(tmp) / "cache")
        (Path(tmp) / "cache").mkdir()
        if tools.is_dir():
            (Path(tmp) / "cache" / "tools").symlink_to(tools)
        root = make_platform(Path(tmp) / "platform", n)
        rows: list[tuple[str, float, float]] = []  # (case, wall seconds, CPU seconds)

        floor_dir = Path(tmp) / "floor"
        floor_run = render_floor(root, floor_dir)
        caches = [Path(tmp) / "cache" / kind for kind in ("builds", "specs", "renders", "runs")]
        parts: dict[str, list[tuple[float, float]]] = {
            part: [] for part in ("floor", "compile", "validate", "helm", "kustomize")}
        peaks: list[int] = []

        def record(part: str, action: Callable[[], object]) -> None:
            parts[part].append(measured(action, runs=1))

        def median_of(part: str) -> tuple[float, float]:
            return (statistics.median(wall for wall, _ in parts[part]),
                    statistics.median(cpu for _, cpu in parts[part]))

        # The floor runs next to each cold compile, so that both meet the file system in
        # the same state. The last run's files are moved aside, not deleted (see
        # `set_aside`), and deleted when the temp dir is, after every case was timed.
        for run in range(runs):
            set_aside([floor_dir, *(root / rel for rel in GENERATED), *caches],
                      Path(tmp) / "set-aside" / str(run))
            record("floor", floor_run)
            record("compile", lambda: run_measured(root, "compile", "--timings"))
            cold_stages = {"compile": STDERR[0]}
            record("validate", lambda: peaks.append(run_measured(root, "validate", "--timings")))
            cold_stages["validate"] = STDERR[0]
            record("helm", helm_floor(root))
            record("kustomize", kustomize_floor(root))
        floor = median_of("floor")[0]
        rows.append(("floor: Jinja2 render + write", *median_of("floor")))
        rows.append(("compile, cold (empty tree, no caches)", *median_of("compile")))
        rows.append(("then validate, cold (no build cache)", *median_of("validate")))
        cold = [(c[0] + v[0], c[1] + v[1])
                for c, v in zip(parts["compile"], parts["validate"], strict=True)]
        rows.append(("= full compile + validate, cold", statistics.median(w for w, _ in cold),
                     statistics.median(c for _, c in cold)))
        rows.append(("helm floor: the SDK's renders alone", *median_of("helm")))
        rows.append(("kustomize floor: the overlays alone", *median_of("kustomize")))
        builds_cpu = statistics.median(h[1] + k[1] for h, k in zip(
            parts["helm"], parts["kustomize"], strict=True))
        run_measured(root, "validate")  # warm the cache
        rows.append(("no-op compile", *measured(lambda: run_measured(root, "compile"), runs)))
        rows.append(("no-op validate (warm cache)",
                     *measured(lambda: run_measured(root, "validate"), runs)))
        tiers = iter(["large", "small"] * runs)

        def change_one() -> None:
            (root / "customers" / "c00001.yaml").write_text(f"name: c00001\ntier: {next(tiers)}\n")
            run_measured(root, "compile")

        rows.append(("one spec changed, validate",
                     *measured(lambda: run_measured(root, "validate"), runs, change_one)))
        subprocess.run(["git", "checkout", "-q", "--", "customers"], cwd=root, check=True)
        run_measured(root, "compile")
        tags = iter(f"2.0.{i}" for i in range(100))
        rows.append(("bump-image, incl. commit",
                     *measured(lambda: run_measured(root, "bump-image", next(tags), "--timings"),
                               runs)))
        bump_stages = STDERR[0]

    print(f"  {'case':<40} {'wall':>8}   {'/ floor':>7} {'CPU':>8}   {'cores':>5}")
    for label, seconds, cpu in rows:
        print(f"  {label:<40} {seconds:8.2f} s {seconds / floor:7.1f}x {cpu:8.2f} s "
              f"{cpu / seconds:5.1f}")
    cores = os.cpu_count() or 1
    print(f"  {'builds CPU floor: (helm + kustomize) / cores':<40} {builds_cpu / cores:8.2f} s"
          f"   (helm and kustomize floors' CPU, {builds_cpu:.2f} s, on {cores} busy cores)")
    print(f"  {'peak RSS, cold validate':<40} {max(peaks) / 1024:8.0f} MiB")
    probes.append(side_by_side())
    print(f"  two processes at once did {probes[0]:.2f}x one's work at the start, "
          f"{probes[1]:.2f}x at the end (2.0: two cores of their own)")
    for what, stages in [*(("cold " + k, v) for k, v in cold_stages.items()),
                         ("bump-image", bump_stages)]:
        print(f"the last {what}'s stages (--timings):")
        print("\n".join("  " + line for line in stages.splitlines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
