"""`gitops-gen validate`: the pre-commit hook and the CI gate."""

from __future__ import annotations

from gitops_gen.console import Console
from gitops_gen.platform import Platform
from gitops_gen.progress import progress_bar
from gitops_gen.reporters import REPORTER_BY_NAME, Summary
from gitops_gen.validate import Report, ValidateOptions, validate_tree


def run(platform: Platform, console: Console, output: str, backend: str, jobs: int,
        base: str = "HEAD", *, cache: bool = True, timings: bool = False) -> int:
    options = ValidateOptions(backend=backend, jobs=jobs, base=base, cache=cache,
                              progress=progress_bar(console.err, "build"))
    report = validate_tree(platform, None, options)
    summary = Summary(customers=report.customers, objects=report.objects,
                      checks=report.checks)
    console.summary(REPORTER_BY_NAME[output].render(report.findings, summary).rstrip("\n"))
    if timings:
        print(timings_text(report), file=console.err)
    return 1 if report.findings else 0


def timings_text(report: Report) -> str:
    """Seconds per stage, and what the build stage did (on stderr: stdout is the report)."""
    lines = [f"{stage:<8} {seconds:8.3f} s" for stage, seconds in report.timings.items()]
    lines.append(f"{'total':<8} {sum(report.timings.values()):8.3f} s")
    stats = report.build
    lines.append(f"build: {stats.applications} Applications, {stats.built} built, "
                 f"{stats.cached} from the cache; {stats.batched_overlays} kustomize "
                 f"overlays built in batches, {stats.cached_overlays} from the cache, "
                 f"{stats.in_process_helm} helm sources "
                 f"rendered in-process ({stats.values_checked_here} with values.schema.json "
                 f"checked here), in {stats.worker_processes or 'no'} worker processes")
    return "\n".join(lines)
