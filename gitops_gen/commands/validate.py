"""`gitops-gen validate`: the pre-commit hook and the CI gate."""

from __future__ import annotations

from gitops_gen.console import Console
from gitops_gen.platform import Platform
from gitops_gen.reporters import REPORTER_BY_NAME, Summary
from gitops_gen.validate import ValidateOptions, validate_tree


def run(platform: Platform, console: Console, output: str, backend: str, jobs: int) -> int:
    report = validate_tree(platform, None, ValidateOptions(backend=backend, jobs=jobs))
    summary = Summary(customers=report.customers, objects=report.objects,
                      checks=report.checks)
    console.summary(REPORTER_BY_NAME[output].render(report.findings, summary).rstrip("\n"))
    return 1 if report.findings else 0
