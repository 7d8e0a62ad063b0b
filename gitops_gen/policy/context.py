"""What a policy rule is given: one customer's objects, and the whole fleet for fleet rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from gitops_gen.model import Finding, Manifest
from gitops_gen.policy.objects import ingress_hosts


# eq=False: a fleet is compared by identity, and the cached indexes below are built once
# per run however many customers and rules ask for them.
@dataclass(frozen=True, eq=False)
class Fleet:
    """Every customer's built objects, and the namespaces each customer may use: its own
    (`expected_namespace`) and any further ones it owns (`extra_namespaces`)."""

    manifests_by_customer: Mapping[str, Sequence[Manifest]]
    expected_namespace: Callable[[str], str]
    extra_namespaces: Callable[[str], Sequence[str]] = field(default=lambda _: ())

    def namespaces_of(self, customer: str) -> tuple[str, ...]:
        return (self.expected_namespace(customer), *self.extra_namespaces(customer))

    @cached_property
    def customer_by_namespace(self) -> dict[str, str]:
        """Which customer owns each of the namespaces customers may use."""
        return {ns: c for c in self.manifests_by_customer for ns in self.namespaces_of(c)}

    @cached_property
    def customers_by_host(self) -> dict[str, frozenset[str]]:
        """Which customers' Ingresses use each host."""
        index: dict[str, set[str]] = {}
        for customer, manifests in self.manifests_by_customer.items():
            for manifest in manifests:
                for host in ingress_hosts(manifest):
                    index.setdefault(host, set()).add(customer)
        return {host: frozenset(users) for host, users in index.items()}


@dataclass(frozen=True)
class PolicyContext:
    """The objects of one customer, checked by one rule, with the fleet around them."""

    customer: str
    manifests: Sequence[Manifest]
    fleet: Fleet

    # cached: a rule asks for each of the customer's objects (namespace.py), and the
    # platform formats the names from its config each time
    @cached_property
    def namespace(self) -> str:
        """The namespace this customer's namespaced objects belong in by default."""
        return self.fleet.expected_namespace(self.customer)

    @cached_property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace this customer's objects may be in (its own first)."""
        return self.fleet.namespaces_of(self.customer)


def finding(rule_id: str, manifest: Manifest, text: str) -> Finding:
    """A policy finding about `manifest`, its message led by the object's ident.

    Built objects come from chart templates and overlay files whose lines do not map back
    to one source line, so policy findings carry no line number.
    """
    return Finding(
        file=manifest.source,
        line=None,
        customer=manifest.customer,
        rule=f"policy/{rule_id}",
        message=f"{manifest.ident()}: {text}",
    )
