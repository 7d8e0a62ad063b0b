"""What a command says: findings and a summary by default, details with -v."""

from __future__ import annotations

import codecs
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from gitops_gen.model import Finding
from gitops_gen.reporters import TextReporter, escape_name_bytes, ordered


@dataclass
class Console:
    verbose: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def summary(self, text: str) -> None:
        print(text, file=self.out)

    def detail(self, text: str) -> None:
        if self.verbose:
            print(text, file=self.out)

    def findings(self, findings: Sequence[Finding]) -> None:
        for finding in ordered(findings):
            print(TextReporter.line(finding), file=self.out)

    def warn(self, text: str) -> None:
        print(f"gitops-gen: {text}", file=self.err)


_ESCAPE = "gitops-gen-escape"


def tolerant_output() -> None:
    """Make what stdout and stderr cannot encode come out escaped, never failing the run:
    a file name in no encoding (`os` gives its bytes as surrogates) as `\\xNN` per byte,
    anything else as Python writes it in a string (`\\u00e9`)."""
    codecs.register_error(_ESCAPE, _escape)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors=_ESCAPE)


class ReaderGone:
    """A text stream whose reader may go away (`gitops-gen add acme | head -1`): from the
    first write that finds the pipe closed, what is written goes to /dev/null and the
    command goes on to its own exit code. Left alone, the broken pipe unwound the
    command half-way and click ended it with exit 1, the code of validation findings,
    after an `add` had committed."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()
            self._stream.flush()  # what was buffered goes to /dev/null now

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _escape(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = escape_name_bytes(error.object[error.start:error.end])
    return text.encode("ascii", "backslashreplace").decode("ascii"), error.end
