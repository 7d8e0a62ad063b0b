"""Reporters: exact text lines, JSON that round-trips, JUnit XML that CI actions can read."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from gitops_gen.model import Finding
from gitops_gen.reporters import REPORTER_BY_NAME, Summary

FINDINGS = [
    Finding("gitops/apps/customer-beta/values.yaml", None, "beta", "drift", "differs from compile"),
    Finding("customers/acme.yaml", 7, "acme", "schema", "replicas: 'x' is not of type 'integer'"),
    Finding("gitops-gen.yaml", None, None, "schema", "kubernetesVersion: bad <&> \x1b[31m"),
    Finding("customers/acme.yaml", None, "acme", "spec", "name differs from file name"),
    Finding(
        "gitops/chart/templates/deployment.yaml",
        None,
        "acme",
        "policy/probes",
        'Deployment/customer-acme/acme: container "app" has no readinessProbe',
    ),
]
SUMMARY = Summary(customers=("acme", "beta", "gamma"), objects=42, checks=("schema", "policy"))


def render(name: str, findings: list[Finding] = FINDINGS) -> str:
    return REPORTER_BY_NAME[name].render(findings, SUMMARY)


def test_text_lines() -> None:
    assert render("text").splitlines() == [
        "customers/acme.yaml: acme: spec: name differs from file name",
        "customers/acme.yaml:7: acme: schema: replicas: 'x' is not of type 'integer'",
        "gitops-gen.yaml: -: schema: kubernetesVersion: bad <&> \x1b[31m",
        "gitops/apps/customer-beta/values.yaml: beta: drift: differs from compile",
        "gitops/chart/templates/deployment.yaml: acme: policy/probes: "
        'Deployment/customer-acme/acme: container "app" has no readinessProbe',
        "5 finding(s) in 2 customer(s)",
    ]


def test_text_ok() -> None:
    assert render("text", []) == "ok: 3 customers, 42 objects valid"


def test_json_round_trips() -> None:
    document = json.loads(render("json"))
    found = [Finding(**record) for record in document["findings"]]
    assert sorted(found, key=lambda f: (f.file, f.line or 0)) == found
    assert sorted(found, key=repr) == sorted(FINDINGS, key=repr)
    assert document["summary"] == {
        "ok": False,
        "findings": 5,
        "customers": 3,
        "objects": 42,
        "checks": ["schema", "policy"],
    }


def test_json_is_stable() -> None:
    assert render("json") == REPORTER_BY_NAME["json"].render(FINDINGS[::-1], SUMMARY)
    assert json.loads(render("json", []))["findings"] == []


def junit(findings: list[Finding] = FINDINGS) -> ET.Element:
    return ET.fromstring(render("junit", findings))


def test_junit_structure() -> None:
    root = junit()
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "gitops-gen validate"
    cases = [(c.get("classname"), c.get("name")) for c in suite.findall("testcase")]
    assert cases == [
        ("acme", "validate"),
        ("beta", "validate"),
        ("gamma", "validate"),
        ("platform", "validate"),
    ]


def test_junit_failure_counts() -> None:
    root = junit()
    suite = root.find("testsuite")
    assert suite is not None
    for element in (root, suite):
        assert (element.get("tests"), element.get("failures"), element.get("errors")) == (
            "4",
            "3",
            "0",
        )
    failures = {c.get("classname"): len(c.findall("failure")) for c in suite.iter("testcase")}
    assert failures == {"acme": 3, "beta": 1, "gamma": 0, "platform": 1}


def test_junit_failure_content() -> None:
    case = junit().find("testsuite/testcase[@classname='acme']")
    assert case is not None
    failure = case.find("failure[@type='schema']")
    assert failure is not None
    assert failure.attrib == {
        "type": "schema",
        "message": "schema: replicas: 'x' is not of type 'integer'",
        "file": "customers/acme.yaml",
        "line": "7",
    }
    assert failure.text == "customers/acme.yaml:7: schema: replicas: 'x' is not of type 'integer'"


def test_junit_escapes_what_xml_cannot_hold() -> None:
    failure = junit().find("testsuite/testcase[@classname='platform']/failure")
    assert failure is not None
    assert failure.get("message") == "schema: kubernetesVersion: bad <&> \ufffd[31m"


def test_junit_all_pass() -> None:
    root = junit([])
    assert (root.get("tests"), root.get("failures")) == ("4", "0")
    assert root.findall(".//failure") == []
