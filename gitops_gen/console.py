"""What a command says: findings and a summary by default, details with -v."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from gitops_gen.model import Finding
from gitops_gen.reporters import TextReporter, ordered


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
