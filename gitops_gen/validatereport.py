"""What a `validate` run is asked (`ValidateOptions`), is given of an earlier run
(`Earlier`), and found (`Report`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops_gen.model import BuildStats, Finding, Manifest, RenderedFile
from gitops_gen.progress import Progress


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    objects: int = 0
    checks: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    build: BuildStats = field(default_factory=BuildStats)
    # what a later run that rebuilds only some customers needs of the others
    # (validatememo.py): each customer's object count, and its objects that fleet-wide
    # policy rules compare across customers
    objects_of: dict[str, int] = field(default_factory=dict)
    fleet: dict[str, list[Manifest]] = field(default_factory=dict)
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> checked data


@dataclass(frozen=True)
class Earlier:
    """What a run that validates only some customers is given of the others, from an
    earlier run over files that have not changed since (validatememo.py)."""

    fleet: Mapping[str, Sequence[Manifest]]  # what fleet-wide policy rules compare
    specs: Mapping[str, dict[str, Any]]  # their specs' checked data
    # the mass-removal check's findings then, where they still hold (the same spec names
    # as then; the memo's key holds the base's); None: check again
    removals: Sequence[Finding] | None = None


@dataclass(frozen=True)
class Written:
    """What a command has just written the tree to hold (bump-image), and so what a
    validate of that tree need not find out again."""

    # every generated file, compiled from the specs and platform written: the drift check
    # takes them as `compile`'s output instead of compiling again (2 s at 10,000)
    files: Mapping[str, RenderedFile]
    # every spec's checked data, as written: not read and checked again (0.4 s)
    specs: Mapping[str, dict[str, Any]]


@dataclass(frozen=True)
class ValidateOptions:
    backend: str = "auto"
    jobs: int = 0  # 0 = one per core
    cache: bool = True  # reuse builds whose inputs are unchanged (gitops_gen/buildcache.py)
    progress: Progress | None = None  # builds done, of how many
    base: str = "HEAD"  # what the mass-removal check compares the tree with
    written: Written | None = None  # what a command has just written (bump-image)
