"""The one module that runs subprocesses.

Every external tool (helm, kubectl, kustomize, pip) goes through `run`, so the rules are
in one place: an argument list, never a shell; text in and out; stdin closed so that a
tool that unexpectedly prompts fails instead of hanging; and a failure that carries the
command, exit code and stderr into its message.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

# Enough of stderr to show the error without flooding a report with a Go stack trace.
_STDERR_TAIL_LINES = 20


def go_gc_env() -> dict[str, str]:
    """Go's collector set to run at 5x the live heap instead of 2x, unless the user set
    GOGC: for the kustomize batch (~30% less CPU, 60 -> 90 MB at 400 overlays) and the
    in-process helm SDK's runtime (~1 ms, a fifth, less CPU a render; ~13 MB more a
    process). Both allocate far more than they keep live, so at the default the collector
    runs all the time; on 2 cores CPU is a build's limit. GC tuning cannot change what a
    program prints."""
    return {} if "GOGC" in os.environ else {"GOGC": "400"}


class ToolFailed(Exception):
    """An external command could not start, timed out, or exited non-zero."""

    def __init__(self, cmd: Sequence[str], returncode: int | None, stderr: str) -> None:
        super().__init__(cmd, returncode, stderr)
        self.cmd = tuple(cmd)
        self.returncode = returncode  # None: the command never started or timed out
        self.stderr = stderr

    def __str__(self) -> str:
        how = f"exited {self.returncode}" if self.returncode is not None else "failed"
        tail = stderr_tail(self.stderr)
        return f"`{shlex.join(self.cmd)}` {how}" + (f":\n{tail}" if tail else "")


def git_output(cwd: Path, *args: str) -> str | None:
    """What `git ARGS` prints in `cwd`, trailing newlines cut, in any bytes (a path may
    hold any); None if it failed. Without git to run, FileNotFoundError (which the CLI
    says plainly)."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    return os.fsdecode(done.stdout).rstrip("\n") if done.returncode == 0 else None


def stderr_tail(stderr: str, lines: int = _STDERR_TAIL_LINES) -> str:
    """The last `lines` non-blank lines of `stderr`."""
    kept = [line for line in stderr.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd` and return its captured output.

    `env` is layered over the current environment (callers add variables; they never
    need to rebuild PATH). With `check` (the default) a non-zero exit raises
    `ToolFailed`; not starting at all or running past `timeout` always does.
    """
    argv = [str(part) for part in cmd]
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env={**os.environ, **env} if env is not None else None,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            # a path in a message may be any bytes (a directory named in no encoding):
            # kept as `os` gives such names, so the repo root can still be cut off it
            encoding="utf-8",
            errors="surrogateescape",
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolFailed(argv, None, f"timed out after {timeout:g} s") from exc
    except OSError as exc:  # missing binary, not executable, wrong architecture
        raise ToolFailed(argv, None, f"could not start: {exc}") from exc
    if check and proc.returncode != 0:
        raise ToolFailed(argv, proc.returncode, proc.stderr)
    return proc
