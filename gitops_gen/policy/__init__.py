"""Policy rules: what a built tree must satisfy beyond the Kubernetes schemas.

Each rule is a module of this package with an `ID`, a docstring that is its user
documentation, and a `check(ctx)` generator of findings; `RULES` registers them. Findings
are reported with rule id `policy/<ID>`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gitops_gen.errors import InputError
from gitops_gen.model import Finding, Manifest
from gitops_gen.policy import (
    image_tag,
    ingress_hosts,
    namespace,
    probes,
    resources,
    secret_data,
)
from gitops_gen.policy.context import Fleet, PolicyContext

__all__ = [
    "RULES",
    "Fleet",
    "PolicyContext",
    "Rule",
    "RuleModule",
    "default_namespace",
    "enabled_rules",
    "run_policy",
]

Check = Callable[[PolicyContext], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    """A registered policy rule."""

    id: str
    doc: str  # the rule module's docstring: what `validate` users read about the rule
    check: Check

    @property
    def summary(self) -> str:
        """The first line of the documentation."""
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""


class RuleModule(Protocol):
    """What a rule module provides; mypy checks each registered module against it."""

    ID: str

    def check(self, ctx: PolicyContext) -> Iterator[Finding]: ...


def _rule(module: RuleModule) -> Rule:
    return Rule(id=module.ID, doc=module.__doc__ or "", check=module.check)


RULES: Mapping[str, Rule] = {
    rule.id: rule
    for rule in map(_rule, (image_tag, resources, probes, secret_data, namespace, ingress_hosts))
}


def default_namespace(customer: str) -> str:
    """The namespace of a customer in the default layout: `customer-<name>`."""
    return f"customer-{customer}"


def run_policy(
    manifests_by_customer: Mapping[str, Sequence[Manifest]],
    enabled: Mapping[str, bool] | None = None,
    expected_namespace: Callable[[str], str] = default_namespace,
    extra_namespaces: Callable[[str], Sequence[str]] = lambda _: (),
    fleet: Fleet | None = None,
) -> list[Finding]:
    """Check every customer's objects with every enabled rule; findings sorted.

    `enabled` switches rules on or off by id; rules it does not name are on. An id that
    is not a rule raises `InputError`, so a typo in the config cannot silently turn a
    check off. `extra_namespaces` names further namespaces a customer owns (the
    platform's `extraNamespaces`). Fleet-wide rules see `fleet` when given (a fleet
    larger than the customers checked, built by the caller), else `manifests_by_customer`.
    """
    rules = enabled_rules(enabled or {})
    fleet = fleet or Fleet(manifests_by_customer, expected_namespace, extra_namespaces)
    findings = [
        found
        for customer in sorted(manifests_by_customer)
        for rule in rules
        for found in rule.check(PolicyContext(customer, manifests_by_customer[customer], fleet))
    ]
    # Policy findings all have line None, so Finding's own ordering never compares
    # None with an int here.
    return sorted(findings)


def enabled_rules(enabled: Mapping[str, bool]) -> list[Rule]:
    """The rules `enabled` leaves on, in registry order. A platform's config has had its
    ids checked when it was loaded (platform.py); this check is for any other caller."""
    unknown = sorted(set(enabled) - set(RULES))
    if unknown:
        raise InputError(
            f"unknown policy rule {', '.join(map(repr, unknown))}; "
            f"valid rules: {', '.join(sorted(RULES))}"
        )
    return [rule for rule_id, rule in RULES.items() if enabled.get(rule_id, True)]
