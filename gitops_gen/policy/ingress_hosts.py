"""No Ingress host is used by more than one customer.

Collects the hosts of every customer's Ingresses (`spec.rules[].host` and
`spec.tls[].hosts[]`, compared case-insensitively and without a trailing dot) across the
whole fleet. A host used by two or more customers is a finding on each Ingress that uses
it, naming the other customer(s), so every affected customer sees it.

Why: the ingress controller merges or picks between Ingresses that claim the same host,
so one customer's traffic (and login cookies) can silently go to another's app. Hosts
used by several Ingresses of the *same* customer are that customer's own choice and
pass. Wildcard hosts are compared as written: `*.example.com` does not clash with
`acme.example.com`, because controllers prefer the exact host.
"""

from __future__ import annotations

from collections.abc import Iterator

from gitops_gen.model import Finding
from gitops_gen.policy.context import PolicyContext, finding
from gitops_gen.policy.objects import ingress_hosts

ID = "ingress-hosts"


def check(ctx: PolicyContext) -> Iterator[Finding]:
    users_by_host = ctx.fleet.customers_by_host
    for manifest in ctx.manifests:
        for host in sorted(ingress_hosts(manifest)):
            others = sorted(users_by_host.get(host, frozenset()) - {ctx.customer})
            if others:
                names = ", ".join(f'"{c}"' for c in others)
                yield finding(ID, manifest, f'host "{host}" is also used by customer(s) {names}')
