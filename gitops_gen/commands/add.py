"""`gitops-gen add NAME`: write a spec, compile it, validate, commit — in one step."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap

from gitops_gen import runbook
from gitops_gen.compiler import plan_compile
from gitops_gen.console import Console
from gitops_gen.errors import InputError
from gitops_gen.gitrepo import open_repo
from gitops_gen.platform import CONFIG_FILE, Platform
from gitops_gen.setpath import apply_assignments
from gitops_gen.spec import CustomerSpec, check_name, customer_schema, load_all, parse_spec
from gitops_gen.syncplan import customer_objects
from gitops_gen.transaction import Outcome, Validate, commit_change
from gitops_gen.validate import ValidateFactory
from gitops_gen.yamlio import round_trip_yaml


def run(
    platform: Platform,
    console: Console,
    name: str,
    assignments: Sequence[str],
    no_commit: bool,
    validator: ValidateFactory,
) -> int:
    check_name(name)
    rel = platform.spec_path(name)
    if platform.path(rel).exists():
        raise InputError(_exists(platform, name, rel))
    text = spec_text(name, assignments, customer_schema(platform))
    spec = parse_spec(platform, name, text)
    plan = plan_compile(platform, [*load_all(platform), spec], only=[name])
    change = plan.change
    # The spec goes first: an add killed half-way then always leaves it, and a rerun says
    # what to do. Every file of the customer goes in, even one already on disk as it
    # should be (a leftover): the commit must hold them all.
    own = {path: f.content for path, f in plan.wanted.items() if f.customer == name}
    change.writes = {rel: text.encode("utf-8"), **own, **change.writes}
    validate: Validate = validator(platform, [name])
    outcome = commit_change(platform, change, f"Add customer {name}", validate, no_commit)
    return report(platform, console, spec, outcome, no_commit)


def _platform_committed(platform: Platform) -> bool:
    repo = open_repo(platform.root)
    return repo is None or repo.in_head(CONFIG_FILE)


def _exists(platform: Platform, name: str, rel: str) -> str:
    """Why NAME cannot be added, and — for a spec never committed, as an interrupted or
    --no-commit `add` leaves it — the two ways out."""
    repo = open_repo(platform.root)
    if repo is None or repo.is_tracked(rel):
        return f"customer {name!r} already exists ({rel}); edit that file instead"
    return (
        f"customer {name!r} already exists ({rel}) but was never committed (an `add` that "
        "was interrupted, or run with --no-commit, leaves it so). To keep it: `gitops-gen "
        f"compile`, then commit {rel} and gitops/. To start over: delete {rel}, run "
        f"`gitops-gen compile` (it deletes the customer's generated files), and add {name} "
        "again."
    )


def spec_text(name: str, assignments: Sequence[str], schema: dict[str, Any]) -> str:
    data = CommentedMap(name=name)
    apply_assignments(data, assignments, schema)
    if data.get("name") != name:
        raise InputError(f"--set name=…: the name is given as the argument ({name})")
    buffer = io.StringIO()
    buffer.write(f"# Customer {name}. Fields: schemas/customer.schema.json; "
                 "anything left out comes from gitops-gen.yaml.\n")
    round_trip_yaml().dump(data, buffer)
    return buffer.getvalue()


def report(platform: Platform, console: Console, spec: CustomerSpec, outcome: Outcome,
           no_commit: bool) -> int:
    if not outcome.ok:
        console.findings(outcome.findings or [])
        console.summary(f"not added: {spec.name} fails validation; nothing was changed")
        return 1
    for path in outcome.paths:
        console.detail(f"  {path}")
    where = "written, not committed" if no_commit else outcome.commit_text()
    console.summary(f"added {spec.name}: https://{spec.host} in namespace {spec.namespace}, "
                    f"{len(outcome.paths)} files, {where}")
    if not no_commit and not _platform_committed(platform):
        console.warn(f"warning: {CONFIG_FILE} is not committed, nor perhaps the rest of the "
                     "platform (chart, templates): Argo CD syncs only what is committed, and "
                     "this commit holds the customer's files alone. Commit the platform's "
                     "files too (`gitops-gen init` commits them only in a repository it "
                     "creates).")
    # the rest of the runbook: what the cluster will get, read off the built objects
    objects = customer_objects(platform, spec)
    for line in runbook.onboarding(platform, spec, objects, outcome.paths, not no_commit):
        console.summary(line)
    return 0
