"""Check everything Argo CD will apply (see "What validate checks" in the design).

specs → drift → build (helm/kustomize, as the Applications say) → Kubernetes and CRD
schemas → policy (pipeline.py), or what the last run found where the tree has not
changed since (validatememo.py). Problems are `Finding`s; only a run that cannot go on
raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from gitops_gen.model import Finding
from gitops_gen.platform import Platform, load_platform
from gitops_gen.progress import Progress
from gitops_gen.stagetimes import StageTimes
from gitops_gen.validatememo import remembered_validate
from gitops_gen.validatereport import Earlier
from gitops_gen.validatereport import Report as Report  # re-exported: its first home
from gitops_gen.validatereport import ValidateOptions as ValidateOptions
from gitops_gen.validatereport import Written as Written

if TYPE_CHECKING:  # GitPython's ~70 ms of imports: not for a report replayed from the memo
    from gitops_gen.transaction import Validate


def validate_tree(
    platform: Platform, customers: Sequence[str] | None = None,
    options: ValidateOptions | None = None,
) -> Report:
    """Validate the tree; with `customers`, only their apps are built (specs and
    fleet-wide uniqueness are always checked for everyone).

    With the cache on, a whole-tree run gives the last run's report for a tree whose
    files have not changed since, and rebuilds only the customers whose files have
    (validatememo.py)."""
    options = options or ValidateOptions()
    if customers is None and options.cache:
        return remembered_validate(platform, options, _stages)
    return _stages(platform, customers, options, None)


def _stages(platform: Platform, customers: Sequence[str] | None, options: ValidateOptions,
            earlier: Earlier | None) -> Report:
    # Imported here: the stages bring helm, kustomize, the schemas and GitPython (~0.1 s
    # of imports) that a report replayed from the memo does without.
    from gitops_gen.pipeline import partial_validate

    return partial_validate(platform, customers, options, earlier)


class ValidateFactory(Protocol):
    """The check a command runs before it commits (`validator_for_commands`; tests may
    give another)."""

    def __call__(self, platform: Platform, customers: Sequence[str] | None,
                 times: StageTimes | None = None, progress: Progress | None = None,
                 written: Written | None = None) -> Validate: ...


def validator_for_commands(platform: Platform, customers: Sequence[str] | None,
                           times: StageTimes | None = None, progress: Progress | None = None,
                           written: Written | None = None) -> Validate:
    """What add/remove/bump-image run before they commit: the tree as now written,
    gitops-gen.yaml included (bump-image changes it). Its stages go to `times`; the
    build tells `progress` (builds done, of how many) as it goes. `written`: what the
    command wrote (`ValidateOptions.written`)."""
    def validate() -> list[Finding]:
        report = validate_tree(load_platform(platform.root), customers,
                               ValidateOptions(progress=progress, written=written))
        if times is not None:
            times.inner["validate"] = report.timings
        return report.findings
    return validate
