"""`gitops-gen init DIR`: scaffold a platform repo and `git init` it."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from gitops_gen.compiler import plan_compile
from gitops_gen.console import Console
from gitops_gen.errors import InputError
from gitops_gen.gitrepo import init_repo, open_repo
from gitops_gen.platform import CONFIG_FILE, CWD_GONE, load_platform
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
    # a repository around it (the directory, or a new subdirectory of a monorepo) is the
    # user's: its commits are theirs to make
    created_repo = open_repo(_nearest_existing(directory)) is None
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
    except InputError:  # a --platform or --domain the schema refuses, say
        _take_back(directory, written, existed)
        raise
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
    console.summary(f"initialised platform {platform.name} in {directory}{done}")
    repo = open_repo(directory)
    if repo is not None and repo.prefix:  # a platform in a subdirectory of the repository
        console.summary(
            f"note: {directory} is a subdirectory of the repository at "
            f"{repo.repo.working_tree_dir}: pre-commit "
            "and Gitea read .pre-commit-config.yaml and .gitea/workflows/ there only. "
            f"Move them up, running gitops-gen with `-C {repo.prefix.rstrip('/')}` in them.")
    console.summary(f"next: gitops-gen -C {directory} add <customer>")
    return 0


def _nearest_existing(directory: Path) -> Path:
    """`directory`, or its nearest ancestor that exists: where a repository around it
    would be found."""
    try:
        path = directory.absolute()
    except FileNotFoundError:  # a relative DIRECTORY in a working directory deleted since
        raise InputError(CWD_GONE) from None
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


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
