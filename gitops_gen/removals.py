"""`mass-removal`: a change may not remove many customers at once.

A generator gone wrong (a bad glob, an emptied `customers/`, a botched merge) deletes
every customer's Application in one commit, and the Applications' resources finalizer
then has Argo CD prune every customer's namespace: a fleet-wide outage, the known way to
lose everything with Argo CD. Offboarding goes one customer at a time (`gitops-gen
remove`), so a change that removes more than `validation.maxRemovedCustomers` (default
1) customers' specs, compared with the base revision (`validate --base`, default HEAD),
is a finding. Removing several on purpose: raise the limit in the same change, or remove
them in separate commits. Databases are never dropped either way.
"""

from __future__ import annotations

from gitops_gen.model import Finding
from gitops_gen.platform import CONFIG_FILE, SPEC_DIR, Platform, is_spec_file

RULE = "mass-removal"
DEFAULT_LIMIT = 1


def removal_findings(platform: Platform, base: str = "HEAD") -> list[Finding]:
    """One finding if the tree has lost more customers since `base` than allowed; none
    outside git or before the first commit (nothing to lose yet)."""
    from gitops_gen.gitrepo import open_repo  # GitPython: ~40 ms to import, here only

    repo = open_repo(platform.root)
    if repo is None or not repo.has_commits():
        return []
    sha = repo.commit_of(base)  # an unknown revision is an input error, not "no removals"
    # The base's customers as `customer_names` counts them, or a committed editor file
    # would count as a customer removed.
    before = {name.removesuffix(".yaml") for name in repo.files_at(sha, SPEC_DIR)
              if is_spec_file(name)}
    removed = sorted(before - set(platform.customer_names()))
    limit = int(platform.validation.get("maxRemovedCustomers", DEFAULT_LIMIT))
    if len(removed) <= limit:
        return []
    message = (
        f"this change removes {len(removed)} customers at once ({', '.join(removed)}) "
        f"since {base}; at most {limit} may go in one change (validation."
        f"maxRemovedCustomers in {CONFIG_FILE}): Argo CD would prune all their namespaces. "
        "Remove them one at a time with `gitops-gen remove`, or raise the limit on purpose"
    )
    return [Finding(f"{SPEC_DIR}/", None, None, RULE, message)]
