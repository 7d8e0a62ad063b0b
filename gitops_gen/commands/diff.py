"""`gitops-gen diff`: the Kubernetes objects a change adds, removes and changes, per
customer, between a revision (default HEAD) and the working tree."""

from __future__ import annotations

import os

from gitops_gen.console import Console
from gitops_gen.diffreport import REPORTER_BY_NAME
from gitops_gen.errors import InputError
from gitops_gen.objdiff import DiffReport
from gitops_gen.platform import Platform
from gitops_gen.reporters import TextReporter, ordered
from gitops_gen.revdiff import DiffOptions, diff_revision


def run(platform: Platform, console: Console, base: str, output: str, ignore_noise: bool,
        exit_code: bool, jobs: int) -> int:
    report = diff_revision(platform, base, DiffOptions(ignore_noise=ignore_noise, jobs=jobs))
    _details(console, report)
    _note_uncompiled(platform, console)
    console.summary(REPORTER_BY_NAME[output].render(report, _color(console)).rstrip("\n"))
    # Findings go to stderr, so that stdout stays one report (JSON, a PR comment).
    for finding in ordered(report.failures):
        print(TextReporter.line(finding), file=console.err)
    if report.failures:
        console.warn(f"{len(report.failures)} build finding(s): the diff of those "
                     "customers is not shown")
        return 1
    return 1 if exit_code and report.changes else 0


def _note_uncompiled(platform: Platform, console: Console) -> None:
    """The diff is of the tree as it is (what Argo CD would get): a spec edited since the
    last compile changes nothing in it, so say so (on stderr: stdout is the report)."""
    from gitops_gen.compiler import plan_compile

    try:
        change = plan_compile(platform, jobs=1).change
    except InputError as exc:
        first = str(exc).splitlines()[0]
        console.warn(f"note: the specs do not compile ({first}); this diff is of the tree "
                     "as it is")
        return
    if change:
        count = len(change.writes) + len(change.deletes)
        console.warn(f"note: {count} generated file(s) differ from what `gitops-gen compile` "
                     "makes of the specs now; this diff is of the tree as it is: run "
                     "`gitops-gen compile` first to see what the spec edits do")


def _color(console: Console) -> bool:
    """Colour for a terminal, unless NO_COLOR (https://no-color.org) is set."""
    return console.out.isatty() and not os.environ.get("NO_COLOR")


def _details(console: Console, report: DiffReport) -> None:
    """With -v, what was built (on stderr: stdout is the report)."""
    if not console.verbose:
        return
    rebuilt = ", ".join(report.rebuilt) or "none"
    unchanged = ", ".join(report.unchanged) or "none"
    print(f"rebuilt (inputs differ from {report.base}): {rebuilt}", file=console.err)
    print(f"not rebuilt (inputs unchanged): {unchanged}", file=console.err)
