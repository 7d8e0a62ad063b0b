"""`gitops-gen init DIR`: scaffold a platform repo and `git init` it."""

from __future__ import annotations

import io
from pathlib import Path

from gitops_gen.compiler import plan_compile
from gitops_gen.console import Console
from gitops_gen.errors import InputError
from gitops_gen.gitrepo import init_repo, open_repo
from gitops_gen.platform import CONFIG_FILE, load_platform
from gitops_gen.scaffold import DEFAULT_TEMPLATE, scaffold_files
from gitops_gen.transaction import identity
from gitops_gen.tree import apply, write_atomic
from gitops_gen.yamlio import load_mapping, round_trip_yaml


def run(console: Console, directory: Path, platform_name: str | None, domain: str | None,
        no_commit: bool, template: str = DEFAULT_TEMPLATE) -> int:
    files = list(scaffold_files(template))
    if (directory / CONFIG_FILE).exists():
        raise InputError(f"{directory} is already a platform repo ({CONFIG_FILE} exists)")
    clashes = [dest for _, dest in files if (directory / dest).exists()]
    if clashes:
        raise InputError(f"{directory}: would overwrite existing files: {', '.join(clashes)}")
    created_repo = open_repo(directory) is None if directory.exists() else True
    for src, dest in files:
        write_atomic(directory / dest, src.read_bytes())
    _customise(directory, platform_name, domain)
    platform = load_platform(directory)
    apply(platform.root, plan_compile(platform).change)
    init_repo(directory)
    sha = None
    if created_repo and not no_commit:
        repo = open_repo(directory)
        assert repo is not None
        sha = repo.commit_paths(repo.files_in("."), "Scaffold platform with gitops-gen",
                               identity(platform))
    console.summary(
        f"initialised platform {platform.name} in {directory}"
        + (f", commit {sha}" if sha else "")
        + "\nnext: gitops-gen -C " + str(directory) + " add <customer>"
    )
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
