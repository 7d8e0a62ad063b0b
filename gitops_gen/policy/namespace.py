"""Each customer's objects stay in that customer's own namespace.

With the default layout, customer `acme` owns namespace `customer-acme`, and:

- every namespaced object built for `acme` that sets `metadata.namespace` sets it to
  `customer-acme`; an object placed in another customer's namespace names that customer.
  An object without a namespace passes: Argo CD puts it in the Application's destination
  namespace, which this rule checks instead (next point);
- an Argo CD `Application` (and `AppProject`, `ApplicationSet`: `argoproj.io` objects live
  in Argo CD's own namespace, so their `metadata.namespace` is not checked) deploys to
  `spec.destination.namespace: customer-acme`;
- a `Namespace` object is named `customer-acme`.

A platform whose customers own more than one namespace (say a `customer-acme-data`
namespace for its databases) lists the others under `extraNamespaces` in
`gitops-gen.yaml` (`["customer-{name}-data"]`); each of those counts as the customer's own
in all three checks, and as taken for every other customer.

Cluster-scoped kinds have no namespace and are exempt: ClusterRole, ClusterRoleBinding,
CustomResourceDefinition, PersistentVolume, StorageClass, PriorityClass, IngressClass,
ClusterIssuer, ClusterSecretStore, ValidatingWebhookConfiguration and
MutatingWebhookConfiguration.

Why: the namespace is the unit of isolation between customers (RBAC, network policies,
quotas); an object in a neighbour's namespace is an outage or a data leak waiting for the
next sync.
"""

from __future__ import annotations

from collections.abc import Iterator

from gitops_gen.model import Finding, Manifest
from gitops_gen.policy.context import PolicyContext, finding
from gitops_gen.policy.objects import dig

ID = "namespace"

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "ClusterIssuer",
        "ClusterSecretStore",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
)
ARGOCD_KINDS = frozenset({"Application", "AppProject", "ApplicationSet"})


def check(ctx: PolicyContext) -> Iterator[Finding]:
    for manifest in ctx.manifests:
        problem = _problem(ctx, manifest)
        if problem:
            yield finding(ID, manifest, problem)


def _problem(ctx: PolicyContext, manifest: Manifest) -> str | None:
    if _is_argocd(manifest):
        return _destination_problem(ctx, manifest) if manifest.kind == "Application" else None
    if manifest.kind == "Namespace":
        return _misplaced(ctx, manifest.name, "is")
    if manifest.kind in CLUSTER_SCOPED_KINDS or not manifest.namespace:
        return None
    return _misplaced(ctx, manifest.namespace, "is in")


def _is_argocd(manifest: Manifest) -> bool:
    # Other API groups have kinds called Application too (app.k8s.io); those are ordinary
    # namespaced objects.
    return manifest.kind in ARGOCD_KINDS and manifest.api_version.startswith("argoproj.io/")


def _destination_problem(ctx: PolicyContext, manifest: Manifest) -> str | None:
    destination = dig(manifest.obj, ("spec", "destination")).get("namespace")
    if not destination:
        return f'sets no spec.destination.namespace, expected "{ctx.namespace}"'
    return _misplaced(ctx, str(destination), "deploys to")


def _misplaced(ctx: PolicyContext, namespace: str, verb: str) -> str | None:
    """Why `namespace` is not this customer's, or None when it is."""
    if namespace in ctx.namespaces:
        return None
    owner = ctx.fleet.customer_by_namespace.get(namespace)
    whose = f' of customer "{owner}"' if owner else ""
    expected = " or ".join(f'"{ns}"' for ns in ctx.namespaces)
    return f'{verb} namespace "{namespace}"{whose}, expected {expected}'
