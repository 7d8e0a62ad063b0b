"""Render a validate run's findings as text (people), JSON (scripts) or JUnit XML (CI).

A reporter only formats: it returns the whole report as one string and the CLI prints
it. Every format lists findings in the same stable order, so reports of the same tree
are byte-for-byte equal and diff cleanly.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from gitops_gen.model import Finding

JUNIT_SUITE = "gitops-gen validate"
JUNIT_PLATFORM_CASE = "platform"  # the testcase of findings that belong to no customer


@dataclass(frozen=True)
class Summary:
    """What a validate run covered, for the report's closing line or summary record."""

    customers: Sequence[str]  # names, so JUnit can list customers that passed too
    objects: int  # built Kubernetes objects checked
    checks: Sequence[str] = ()  # the stages/rules that ran, e.g. "schema", "policy/probes"


class Reporter(Protocol):
    """Formats findings and the run summary as one printable string."""

    def render(self, findings: Sequence[Finding], summary: Summary) -> str: ...


def sort_key(finding: Finding) -> tuple[str, int, str, str, str]:
    """Report order: by file, line, customer, rule, message.

    Not `Finding`'s own ordering: that compares `None` with an int when one finding of a
    file has a line and another has not.
    """
    f = finding
    return (f.file, f.line or 0, f.customer or "", f.rule, f.message)


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=sort_key)


class TextReporter:
    """`file:line: customer: rule: message` per finding, then one summary line."""

    def render(self, findings: Sequence[Finding], summary: Summary) -> str:
        lines = [self.line(f) for f in ordered(findings)]
        lines.append(self.closing(findings, summary))
        return "\n".join(lines)

    @staticmethod
    def line(finding: Finding) -> str:
        customer = finding.customer or "-"
        return f"{finding.location()}: {customer}: {finding.rule}: {finding.message}"

    @staticmethod
    def closing(findings: Sequence[Finding], summary: Summary) -> str:
        if not findings:
            return f"ok: {len(summary.customers)} customers, {summary.objects} objects valid"
        # Platform-wide findings (customer None) count as findings but not as customers.
        customers = {f.customer for f in findings if f.customer is not None}
        return f"{len(findings)} finding(s) in {len(customers)} customer(s)"


class JsonReporter:
    """`{"findings": [{file, line, customer, rule, message}, ...], "summary": {...}}`."""

    def render(self, findings: Sequence[Finding], summary: Summary) -> str:
        document = {
            "findings": [asdict(f) for f in ordered(findings)],
            "summary": self.summary(findings, summary),
        }
        text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
        # a file name in no encoding holds lone surrogates (its bytes, as `os` gives
        # them): written as JSON's `\\udcff` escapes, the rest as it is
        return text.encode("utf-8", "backslashreplace").decode("utf-8")

    @staticmethod
    def summary(findings: Sequence[Finding], summary: Summary) -> dict[str, Any]:
        return {
            "ok": not findings,
            "findings": len(findings),
            "customers": len(summary.customers),
            "objects": summary.objects,
            "checks": list(summary.checks),
        }


# XML 1.0 cannot carry these code points at all, escaped or not; ElementTree writes them
# through and the report would not parse. Tool stderr quoted in a message can hold them.
# (Those outside XML's Char production, listed: its complement spelled as one class took
# ~5 ms to compile, in every command's start-up.)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# A byte of a file name in no encoding, as `os` gives it (a lone surrogate): written
# `\xNN` in the text report (console.py) and in XML, rather than lost to U+FFFD.
_NAME_BYTE = re.compile("[\udc80-\udcff]")


def escape_name_bytes(text: str) -> str:
    """`text` with each byte of a file name in no encoding written `\\xNN`."""
    return _NAME_BYTE.sub(lambda byte: f"\\x{ord(byte.group()) - 0xDC00:02x}", text)


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", escape_name_bytes(text))


class JunitReporter:
    """JUnit XML as GitHub/Gitea test-report actions read it.

    One `<testsuite name="gitops-gen validate">` with one `<testcase name="validate">` per
    customer (`classname` = customer) plus one for platform-wide findings (`classname` =
    `platform`). A customer with findings has one `<failure>` per finding: `type` is the
    rule id, `message` is `rule: message`, the text `file[:line]: rule: message`, and
    `file`/`line` attributes that mikepenz/action-junit-report uses to annotate the file.
    Counts follow the JUnit convention: `failures` counts failed testcases, not findings.
    Note that mikepenz/action-junit-report and dorny/test-reporter only show a testcase's
    first `<failure>`; the full list is in the XML and in the text report.
    """

    def render(self, findings: Sequence[Finding], summary: Summary) -> str:
        by_case = self.group(findings, summary)
        failed = sum(1 for case_findings in by_case.values() if case_findings)
        counts = {
            "tests": str(len(by_case)),
            "failures": str(failed),
            "errors": "0",
            "skipped": "0",
            "time": "0",
        }
        root = ET.Element("testsuites", {"name": JUNIT_SUITE, **counts})
        suite = ET.SubElement(root, "testsuite", {"name": JUNIT_SUITE, **counts})
        self.properties(suite, summary)
        for case_name, case_findings in by_case.items():
            self.testcase(suite, case_name, case_findings)
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True)

    @staticmethod
    def group(findings: Sequence[Finding], summary: Summary) -> dict[str, list[Finding]]:
        """Findings per testcase: every customer (with findings or not), then platform."""
        names = set(summary.customers) | {f.customer for f in findings if f.customer}
        by_case: dict[str, list[Finding]] = {name: [] for name in sorted(names)}
        by_case.setdefault(JUNIT_PLATFORM_CASE, [])
        for finding in ordered(findings):
            by_case[finding.customer or JUNIT_PLATFORM_CASE].append(finding)
        return by_case

    @staticmethod
    def properties(suite: ET.Element, summary: Summary) -> None:
        props = ET.SubElement(suite, "properties")
        values = {"objects": str(summary.objects), "checks": ",".join(summary.checks)}
        for name, value in values.items():
            ET.SubElement(props, "property", {"name": name, "value": _xml_text(value)})

    @staticmethod
    def testcase(suite: ET.Element, case_name: str, findings: Sequence[Finding]) -> None:
        attrs = {"classname": case_name, "name": "validate", "time": "0"}
        case = ET.SubElement(suite, "testcase", attrs)
        for finding in findings:
            failure = ET.SubElement(case, "failure", _failure_attrs(finding))
            failure.text = _xml_text(f"{finding.location()}: {finding.rule}: {finding.message}")


def _failure_attrs(finding: Finding) -> dict[str, str]:
    message = _xml_text(f"{finding.rule}: {finding.message}")
    attrs = {"type": finding.rule, "message": message, "file": _xml_text(finding.file)}
    if finding.line:
        attrs["line"] = str(finding.line)
    return attrs


REPORTER_BY_NAME: Mapping[str, Reporter] = {
    "text": TextReporter(),
    "json": JsonReporter(),
    "junit": JunitReporter(),
}
