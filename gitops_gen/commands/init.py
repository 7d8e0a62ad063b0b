"""`gitops-gen init DIR`: scaffold a platform repo and `git init` it."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from gitops_gen.compiler import plan_compile
from gitops_gen.console import Console
from gitops_gen.errors import InputError
from gitops_gen.gitrepo import init_repo, open_repo
from gitops_gen.platform import CONFIG_FILE, load_platform
from gitops_gen.scaffold import DEFAULT_TEMPLATE, scaffold_files
from gitops_gen.transaction import identity
from gitops_gen.tree import Snapshot, apply, write_atomic
from gitops_gen.yamlio import load_mapping, round_trip_yaml


def run(console: Console, directory: Path, platform_name: str | None, domain: str | None,
        no_commit: bool, template: str = DEFAULT_TEMPLATE) -> int:
    files = list(scaffold_files(template))
    if (directory / CONFIG_FILE).exists():
        raise InputError(f"{directory} is already a platform repo ({CONFIG_FILE} exists)")
    clashes = [dest for _, dest in files if (directory / dest).exists()]
    if clashes:
        raise InputError(f"{directory}: would overwrite existing files: {', '.join(clashes)}")
    existed = directory.exists()
    created_repo = open_repo(directory) is None if existed else True
    written = [dest for _, dest in files]
    try:
        for src, dest in files:
            write_atomic(directory / dest, src.read_bytes())
        _customise(directory, platform_name, domain)
        platform = load_platform(directory)
        compiled = plan_compile(platform).change
        apply(platform.root, compiled)
        written += compiled.writes
        init_repo(directory)
    except OSError as exc:
        _take_back(directory, written, existed)
        where = exc.filename or directory
        raise InputError(f"cannot scaffold a platform in {directory}: {where}: "
                         f"{exc.strerror or exc}; nothing was left behind") from None
    sha = None
    if created_repo and not no_commit:
        repo = open_repo(directory)
        assert repo is not None
        # exactly what init wrote: files that were in the directory before stay the
        # user's, uncommitted, as every other command leaves unrelated files
        sha = repo.commit_paths(sorted(written), "Scaffold platform with gitops-gen",
                               identity(platform))
    if sha:
        done = f", commit {sha}"
    else:
        why = "--no-commit" if no_commit else "an existing git repository"
        done = (f"; nothing committed ({why}): commit its files before `add`, which "
                "commits only a customer's")
    console.summary(f"initialised platform {platform.name} in {directory}{done}\n"
                    f"next: gitops-gen -C {directory} add <customer>")
    return 0


def _customise(directory: Path, platform_name: str | None, domain: str | None) -> None:
    if not platform_name and not domain:
        return
    path = directory / CONFIG_FILE
    loaded = load_mapping(path, CONFIG_FILE)
    if platform_name:
        loaded.data["platform"] = platform_name
    if domain:
        loaded.data["domain"] = domain
    buffer = io.StringIO()
    round_trip_yaml().dump(loaded.data, buffer)
    write_atomic(path, buffer.getvalue().encode("utf-8"))


def _take_back(directory: Path, written: list[str], existed: bool) -> None:
    """Remove what a failed init wrote (none of it was there before: init refuses to
    overwrite) and the directories it left empty, `directory` itself if init made it."""
    Snapshot(directory, dict.fromkeys(written)).restore()
    if not existed:
        with contextlib.suppress(OSError):
            directory.rmdir()
