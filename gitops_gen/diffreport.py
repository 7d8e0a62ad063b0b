"""Render a `diff` run as text (a terminal), JSON (scripts) or Markdown (a PR comment).

A reporter only formats: it returns the whole report as one string. Customers, and the
objects in each, come in the order `objdiff` gives them (sorted), so the same two trees
always give byte-identical reports. Platform-wide objects (the AppProject) are listed
under `(platform)`, with customer `null` in JSON.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from gitops_gen.objdiff import ADDED, CHANGED, REMOVED, CustomerDiff, DiffReport, ObjectChange

PLATFORM_TITLE = "(platform)"
CHANGE_ORDER = (CHANGED, ADDED, REMOVED)


class DiffReporter(Protocol):
    """Formats a whole diff report as one printable string."""

    def render(self, report: DiffReport, color: bool) -> str: ...


def title(customer: CustomerDiff) -> str:
    return customer.customer or PLATFORM_TITLE


def counts(customer: CustomerDiff) -> str:
    """`2 changed, 1 added`: the non-zero counts, in CHANGE_ORDER."""
    parts = [f"{customer.count(c)} {c}" for c in CHANGE_ORDER if customer.count(c)]
    if customer.noise_only:
        parts.append(f"{customer.noise_only} noise only")
    return ", ".join(parts)


def summary(report: DiffReport) -> str:
    """The closing line: what differs, against which revision."""
    against = f"{report.base} ({report.base_sha[:12]})"
    if not report.changes:
        line = f"no differences from {against}"
    else:
        totals = ", ".join(
            f"{sum(1 for c in report.changes if c.change == kind)} {kind}"
            for kind in CHANGE_ORDER
        )
        groups = [c for c in report.customers if c.changes]
        line = f"{totals} object(s) in {len(groups)} customer(s), against {against}"
    if report.noise_only:
        line += (f"; {report.noise_only} object(s) differ only in ignored noise "
                 "(--no-ignore-noise shows them)")
    return line


class _Ansi:
    BOLD, RED, GREEN, YELLOW, CYAN, RESET = (
        "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[m")


def _paint(line: str) -> str:
    """git's colours for a unified diff line."""
    if line.startswith(("--- ", "+++ ")):
        return f"{_Ansi.BOLD}{line}{_Ansi.RESET}"
    if line.startswith("@@"):
        return f"{_Ansi.CYAN}{line}{_Ansi.RESET}"
    if line.startswith("-"):
        return f"{_Ansi.RED}{line}{_Ansi.RESET}"
    if line.startswith("+"):
        return f"{_Ansi.GREEN}{line}{_Ansi.RESET}"
    return line


_CHANGE_COLOR = {CHANGED: _Ansi.YELLOW, ADDED: _Ansi.GREEN, REMOVED: _Ansi.RED}


class TextReporter:
    """Per customer a header line, then per object `change Kind namespace/name` and its
    unified diff; one summary line at the end. ANSI colours only when asked to."""

    def render(self, report: DiffReport, color: bool) -> str:
        lines: list[str] = []
        for customer in report.customers:
            if not customer.changes:
                continue
            who = f"customer {customer.customer}" if customer.customer else "platform-wide"
            header = f"{who}: {counts(customer)}"
            lines.append(f"{_Ansi.BOLD}{header}{_Ansi.RESET}" if color else header)
            for change in customer.changes:
                lines.extend(self.object_lines(change, color))
            lines.append("")
        lines.append(summary(report))
        return "\n".join(lines)

    @staticmethod
    def object_lines(change: ObjectChange, color: bool) -> list[str]:
        head = f"{change.change} {change.ident()}"
        body = change.diff.rstrip("\n").splitlines()
        if not color:
            return [head, *body]
        return [f"{_CHANGE_COLOR[change.change]}{head}{_Ansi.RESET}", *map(_paint, body)]


class JsonReporter:
    """A list of `{customer, kind, namespace, name, change, diff}`, one per object that
    differs; `customer` is null for platform-wide objects, `namespace` null for
    cluster-scoped ones, `diff` a unified diff."""

    def render(self, report: DiffReport, color: bool) -> str:
        return json.dumps([self.record(c) for c in report.changes], indent=2, ensure_ascii=False)

    @staticmethod
    def record(change: ObjectChange) -> dict[str, Any]:
        return {
            "customer": change.customer or None,
            "kind": change.kind,
            "namespace": change.namespace or None,
            "name": change.name,
            "change": change.change,
            "diff": change.diff,
        }


class MarkdownReporter:
    """A PR comment: a heading with the summary, then one collapsed `<details>` per
    customer that differs, each object's diff in a ```diff block."""

    def render(self, report: DiffReport, color: bool) -> str:
        out = [f"### gitops-gen diff against `{report.base}`", "", summary(report) + ".", ""]
        for customer in report.customers:
            if customer.changes:
                out.extend(self.section(customer))
        return "\n".join(out)

    @staticmethod
    def section(customer: CustomerDiff) -> list[str]:
        name = html.escape(title(customer))
        out = [f"<details><summary><b>{name}</b>: {html.escape(counts(customer))}</summary>", ""]
        for change in customer.changes:
            fence = "`" * max(3, _longest_backtick_run(change.diff) + 1)
            out += [f"**{change.change}** `{change.ident()}`", "", f"{fence}diff",
                    change.diff.rstrip("\n"), fence, ""]
        return [*out, "</details>", ""]


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


REPORTER_BY_NAME: Mapping[str, DiffReporter] = {
    "text": TextReporter(),
    "json": JsonReporter(),
    "markdown": MarkdownReporter(),
}
