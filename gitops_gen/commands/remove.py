"""`gitops-gen remove NAME`: offboard a customer in one commit, never by accident."""

from __future__ import annotations

from gitops_gen import runbook
from gitops_gen.compiler import plan_compile
from gitops_gen.console import Console
from gitops_gen.errors import InputError
from gitops_gen.platform import Platform
from gitops_gen.spec import load_all, load_spec
from gitops_gen.syncplan import customer_objects
from gitops_gen.transaction import commit_change
from gitops_gen.validate import ValidateFactory


def run(
    platform: Platform,
    console: Console,
    name: str,
    force: bool,
    no_commit: bool,
    validator: ValidateFactory,
) -> int:
    spec = load_spec(platform, name)
    if spec.data.get("lifecycle") != "retiring" and not force:
        raise InputError(
            f"{spec.path}: customer {name} is not marked for offboarding; set "
            "`lifecycle: retiring` in the spec (and commit it) first, or pass --force"
        )
    # what stays behind (its database) is read off its objects while they still exist
    kept = runbook.offboarding(customer_objects(platform, spec))
    others = [s for s in load_all(platform) if s.name != name]
    plan = plan_compile(platform, others, only=[name])
    change = plan.change
    change.deletes.append(spec.path)
    validate = validator(platform, [])
    owned = [rule.path_for(name) for rule in platform.customer_outputs()]
    outcome = commit_change(platform, change, f"Remove customer {name}", validate, no_commit,
                            owned)
    if not outcome.ok:
        console.findings(outcome.findings or [])
        console.summary(f"not removed: {name}: the tree without it fails validation")
        return 1
    where = outcome.commit_text()
    console.summary(
        f"removed {name}: {len(outcome.paths)} files, {where}. Argo CD will prune the app and "
        f"namespace {spec.namespace}; {kept}"
    )
    return 0
