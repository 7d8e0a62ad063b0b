"""Generated files that are not Kubernetes objects, checked against their own schema.

An output rule in `gitops-gen.yaml` may name a JSON schema (`schema:`), e.g. the
Terraform DNS input `gitops/dns/customer-records.auto.tfvars.json`: no Kubernetes schema
applies to it, and `terraform validate` needs terraform and the module. The file as it
is in the tree is checked; a missing one is the drift check's business.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from gitops_gen.errors import InputError
from gitops_gen.model import Finding
from gitops_gen.platform import Platform
from gitops_gen.schemacheck import schema_errors
from gitops_gen.yamlio import load_mapping, to_plain

RULE = "schema"


def datafile_findings(platform: Platform, customers: Sequence[str]) -> list[Finding]:
    """Schema findings for every output with a `schema:` of the platform and of
    `customers`."""
    return [found for rel, customer, schema in _checked_files(platform, customers)
            for found in _check(platform, rel, customer, schema)]


def _checked_files(platform: Platform,
                   customers: Sequence[str]) -> Iterator[tuple[str, str | None, str]]:
    for rule in platform.platform_outputs():
        if rule.schema:
            yield rule.path_for(None), None, rule.schema
    for rule in platform.customer_outputs():
        if rule.schema:
            for name in customers:
                yield rule.path_for(name), name, rule.schema


def _check(platform: Platform, rel: str, customer: str | None, schema: str) -> list[Finding]:
    path = platform.path(rel)
    if not path.is_file():
        return []
    try:
        loaded = load_mapping(path, rel)  # JSON is YAML: lines come with it
    except InputError as exc:
        return [Finding(rel, None, customer, RULE, str(exc))]
    problems = schema_errors(loaded, to_plain(loaded.data), _schema(platform, schema))
    return [_finding(problem, rel, customer, schema) for problem in problems]


def _finding(problem: str, rel: str, customer: str | None, schema: str) -> Finding:
    """A `schema_errors` line (`file[:LINE]: field: problem`) as a finding."""
    where, _, what = problem.partition(": ")
    line = where.removeprefix(rel).removeprefix(":")
    return Finding(rel, int(line) if line.isdigit() else None, customer, RULE,
                   f"{what} (schema {schema})")


def _schema(platform: Platform, rel: str) -> dict[str, Any]:
    from jsonschema import Draft202012Validator, SchemaError  # ~30 ms: only with data files

    try:
        schema: dict[str, Any] = json.loads(platform.path(rel).read_text("utf-8"))
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, SchemaError) as exc:
        message = str(exc).splitlines()[0]
        raise InputError(f"{rel}: cannot use the schema gitops-gen.yaml names: {message}") from None
    return schema
