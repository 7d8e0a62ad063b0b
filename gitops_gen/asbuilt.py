"""Schema and policy checks of each customer as soon as its build is done.

`validate` checked every object's schema and ran every policy rule after the last build:
at 10,000 customers ~1.5 s on one core at the end of a run whose build keeps two busy.
Here each customer's objects are checked when `build_all` tells of them
(`BuildOptions.on_customer`), in the main process while the other customers build;
what can only be judged once everything is built waits for the end:

- a schema backend that runs a tool (kubeconform: one process for all objects) checks
  everything at the end, as before; the embedded one checks each customer's objects;
- the fleet-wide rules (`FLEET_RULES`: ingress hosts, compared across customers) run at
  the end over everyone; the others judge one customer's objects, knowing of the fleet
  only its customers' names (which namespaces each owns), which are known before the
  build: the customers of the Argo CD objects and those the caller already knew of.

The findings are those of checking everything at the end: the same checks of the same
objects, with the same names around them (the report orders them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gitops_gen.model import BuildResult, Finding, Manifest
from gitops_gen.platform import Platform
from gitops_gen.policy import RULES, Fleet, run_policy
from gitops_gen.validatememo import FLEET_RULES
from gitops_gen.validators import SchemaValidator


class AsBuilt:
    """The checks of one validate run, customer by customer (`check`), then the rest."""

    def __init__(self, platform: Platform, backend: SchemaValidator, generated: Sequence[Manifest],
                 others: Mapping[str, Sequence[Manifest]]) -> None:
        self.findings: list[Finding] = []
        self._backend = backend
        self._each = backend.name == "embedded"  # an in-process check per object
        self._generated: dict[str, list[Manifest]] = {}
        for manifest in generated:
            self._generated.setdefault(manifest.customer, []).append(manifest)
        names = dict.fromkeys([*others, *self._generated], ())
        self._names = Fleet(names, platform.namespace_for, platform.extra_namespaces_for)
        self._own_rules = {**platform.policy, **dict.fromkeys(FLEET_RULES, False)}
        self._fleet_rules = {**platform.policy,
                             **dict.fromkeys(set(RULES) - FLEET_RULES, False)}
        self._checked: set[str] = set()

    def check(self, result: BuildResult) -> None:
        """Check a customer's built objects (with its Argo CD objects, for policy)."""
        if self._each:
            self.findings.extend(self._backend.validate(result.manifests))
        manifests = [*self._generated.get(result.customer, ()), *result.manifests]
        if manifests:  # as at the end: a customer without objects is not judged
            self.findings.extend(run_policy({result.customer: manifests}, self._own_rules,
                                            fleet=self._names))
        self._checked.add(result.customer)

    def schema_rest(self, generated: Sequence[Manifest],
                    manifests: Sequence[Manifest]) -> list[Finding]:
        """The schema findings not found customer by customer: of the Argo CD objects,
        or of all `manifests` with a backend that checks them all at once."""
        return self._backend.validate(generated if self._each else manifests)

    def policy_rest(self, by_customer: Mapping[str, Sequence[Manifest]],
                    fleet: Fleet) -> list[Finding]:
        """The policy findings not found customer by customer: the fleet-wide rules for
        every customer of `fleet` (those of `by_customer`, built now, and those a partial
        run knows from earlier, whose findings may change with them), the others for
        customers of `by_customer` no build told of (those without an Application: the
        platform's AppProject, which no rule judges today)."""
        unchecked = {c: m for c, m in by_customer.items() if c not in self._checked}
        return [*run_policy(fleet.manifests_by_customer, self._fleet_rules, fleet=fleet),
                *run_policy(unchecked, self._own_rules, fleet=fleet)]
