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

from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.model import Finding
from gitops_gen.platform import CONFIG_FILE, SPEC_DIR, Platform, is_spec_file
from gitops_gen.procs import git_output

RULE = "mass-removal"
DEFAULT_LIMIT = 1


def removal_findings(platform: Platform, base: str = "HEAD") -> list[Finding]:
    """One finding if the tree has lost more customers since `base` than allowed; none
    outside git or before the first commit (nothing to lose yet)."""
    # The base's customers as `customer_names` counts them, or a committed editor file
    # would count as a customer removed.
    files = _spec_files_at(platform.root, base)
    if files is None:
        return []
    before = {name.removesuffix(".yaml") for name in files if is_spec_file(name)}
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


def _spec_files_at(root: Path, base: str) -> list[str] | None:
    """The names of the files in the platform's customers/ as of commit `base`; None
    outside git or before the first commit. git itself, not GitPython: validate needs
    nothing else of it, and importing it took ~35 ms of each cold validate."""
    sha = None if base.startswith("-") else git_output(  # a revision never becomes an option
        root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    if sha is None:
        if git_output(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}") is None:
            return None  # outside git, or no commit yet
        top = git_output(root, "rev-parse", "--show-toplevel")
        raise InputError(f"unknown revision {base!r}: no such commit in {top} (a branch, tag "
                         "or sha; fetch a remote branch first)")
    # paths relative to the platform root, as the working directory of ls-tree
    listing = git_output(root, "ls-tree", "-z", "--name-only", sha, "--", f"{SPEC_DIR}/")
    return sorted(entry.rsplit("/", 1)[-1] for entry in (listing or "").split("\0") if entry)

