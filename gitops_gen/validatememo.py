"""`validate` of a tree that changed little since the last run: only what changed is redone.

The last whole-tree run's report is kept (runmemo.py) under the stat digests of the tree
it ran on (treestat.py), with, per customer, its findings, its object count and
stand-ins for the objects that fleet-wide policy rules compare across customers
(`FLEET_RULES`: an Ingress's identity and hosts, all the ingress-hosts rule reads). Then:

- the tree is as it was (no file's stats changed): that report, as it was;
- only some customers' files changed (their specs or rendered files), nothing shared and
  no customer added or removed: those customers are validated again, everything
  fleet-wide with them (specs and host uniqueness, platform files, mass removal, schemas
  of platform objects), and fleet-wide rules judge every customer again, the others by
  their kept objects; the others' other findings are kept;
- anything else: the full run (whose stage caches still spare unchanged work).

Every path gives the report the full run would (tests/test_validate_memo.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from gitops_gen.model import Finding, Manifest
from gitops_gen.platform import Platform
from gitops_gen.policy.objects import ingress_hosts
from gitops_gen.removals import RULE as REMOVAL_RULE
from gitops_gen.reporters import ordered
from gitops_gen.runmemo import base_customers, run_memo
from gitops_gen.treestat import TreeStat, tree_of_json, tree_stat
from gitops_gen.treestat import tree_json as _tree_json
from gitops_gen.validatereport import Earlier, Report, ValidateOptions

# Rules whose findings on a customer depend on other customers' objects, not only names
FLEET_RULES = frozenset({"ingress-hosts"})
_FLEET_RULE_IDS = frozenset(f"policy/{rule}" for rule in FLEET_RULES)
# Above this share of the fleet changed, a full run is as quick and simpler to trust.
_MOST = 0.5

PartialValidate = Callable[[Platform, Sequence[str] | None, ValidateOptions, Earlier | None],
                           Report]


def remembered_validate(platform: Platform, options: ValidateOptions,
                        validate: PartialValidate) -> Report:
    """`validate(platform, None, options, None)`, from the memo where it can be."""
    start = time.perf_counter()
    memo = run_memo(platform, "validate",
                    {"backend": options.backend, "base": base_customers(platform, options.base)})
    tree = tree_stat(platform) if memo else None
    if memo is None or tree is None:
        return validate(platform, None, options, None)
    earlier = memo.load()
    looked = time.perf_counter() - start  # the tree stated, the record read
    report = None
    try:
        earlier_tree = _tree_of(earlier) if earlier is not None else None
        changed = tree.changed_customers(earlier_tree, platform.root) if earlier_tree else None
        if earlier is not None and earlier_tree is not None and changed == set():
            report = _replay(earlier)
            report.timings["memo"] = time.perf_counter() - start
            if tree.racy != earlier_tree.racy:  # settled since: stats alone do now
                memo.save_summary({**earlier, "tree": _tree_json(tree)})
            return report
        if earlier is not None and changed and (details := memo.details()) is not None:
            report = _revalidate(platform, options, validate, tree,
                                 {**earlier, **details}, changed)
    except (KeyError, TypeError, ValueError, AttributeError):
        report = None  # a record of another shape: as if there were none
    if report is None:
        report = validate(platform, None, options, None)
    recording = time.perf_counter()
    memo.save(*_record(tree, report))
    report.timings["memo"] = looked + time.perf_counter() - recording
    return report


def fleet_stand_ins(manifests: Sequence[Manifest]) -> list[Manifest]:
    """What of `manifests` the fleet-wide rules compare across customers, kept for later
    runs: each Ingress with hosts, reduced to its identity and hosts (what the
    ingress-hosts rule reads and reports)."""
    stand_ins = []
    for manifest in manifests:
        hosts = ingress_hosts(manifest) if manifest.kind == "Ingress" else set()
        if hosts:
            obj = {"apiVersion": manifest.api_version, "kind": manifest.kind,
                   "metadata": {"name": manifest.name, "namespace": manifest.namespace},
                   "spec": {"rules": [{"host": host} for host in sorted(hosts)]}}
            stand_ins.append(Manifest(manifest.customer, obj, manifest.source))
    return stand_ins


def _revalidate(platform: Platform, options: ValidateOptions, validate: PartialValidate,
                tree: TreeStat, earlier: dict[str, Any], changed: set[str]) -> Report | None:
    if len(changed) > _MOST * len(tree.customers):
        return None
    others = {c: [Manifest(c, obj, source) for source, obj in items]
              for c, items in earlier["fleet"].items() if c not in changed and c}
    specs = {c: data for c, data in earlier["specs"].items() if c not in changed}
    # The mass-removal check compares the spec names with the base's, which the memo's
    # key holds: with the same names as then, its findings are then's (and git is not run).
    # The names now are the tree's, as stated a moment ago (in order, from customer_names).
    same_names = list(tree.customers) == list(earlier["customers"])
    removals = [f for f in map(_finding, earlier["findings"])
                if f.rule == REMOVAL_RULE] if same_names else None
    fresh = validate(platform, sorted(changed), options, Earlier(others, specs, removals))
    present = set(earlier["objects_of"])
    if any((c in fresh.objects_of) != (c in present) for c in changed):
        return None  # who has objects at all changed: namespace owners may read otherwise
    kept = [f for f in map(_finding, earlier["findings"])
            if f.customer not in changed and f.customer is not None
            and f.rule not in _FLEET_RULE_IDS]
    objects_of = {c: n for c, n in earlier["objects_of"].items() if c not in changed and c}
    objects_of.update(fresh.objects_of)
    stats = fresh.build
    stats.applications = int(earlier["applications"])
    stats.cached = stats.applications - stats.built
    return replace(fresh, findings=ordered(list({*kept, *fresh.findings})),
                   customers=list(earlier["customers"]), objects=sum(objects_of.values()),
                   objects_of=objects_of)


def _replay(earlier: dict[str, Any]) -> Report:
    report = Report(findings=[_finding(f) for f in earlier["findings"]],
                    customers=list(earlier["customers"]), objects=int(earlier["objects"]),
                    checks=list(earlier["checks"]))
    report.build.applications = report.build.cached = int(earlier["applications"])
    return report


def _record(tree: TreeStat, report: Report) -> tuple[dict[str, Any], dict[str, Any]]:
    """The summary a no-op run replays, and the details a partial run takes the
    customers it does not validate from."""
    summary = {"tree": _tree_json(tree),
               "findings": [_finding_json(f) for f in report.findings],
               "customers": report.customers, "objects": report.objects,
               "checks": report.checks, "applications": report.build.applications}
    details = {"objects_of": report.objects_of,
               "fleet": {c: [[m.source, m.obj] for m in ms] for c, ms in report.fleet.items()},
               "specs": report.specs}
    return summary, details


def _tree_of(record: dict[str, Any]) -> TreeStat:
    return tree_of_json(record["tree"])


def _finding_json(finding: Finding) -> list[Any]:
    return [finding.file, finding.line, finding.customer, finding.rule, finding.message]


def _finding(data: list[Any]) -> Finding:
    file, line, customer, rule, message = data
    return Finding(file, line, customer, rule, message)
