"""Seconds per stage of a command, for `--timings` (printed to stderr, never stdout)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field


@contextmanager
def timed(seconds: dict[str, float], name: str) -> Iterator[None]:
    """Add the time the block takes to `seconds[name]` (a stage run twice adds up)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass
class StageTimes:
    """Stages in the order they first ran; a stage run twice adds up. A stage may hold
    the stages of a nested run (`validate` in `bump-image`: its specs, drift, build...)."""

    seconds: dict[str, float] = field(default_factory=dict)
    inner: dict[str, dict[str, float]] = field(default_factory=dict)

    def stage(self, name: str) -> AbstractContextManager[None]:
        return timed(self.seconds, name)

    def text(self) -> str:
        lines = []
        for name, seconds in self.seconds.items():
            line = f"{name:<8} {seconds:8.3f} s"
            if parts := self.inner.get(name):
                line += "  (" + ", ".join(f"{n} {s:.3f}" for n, s in parts.items()) + ")"
            lines.append(line)
        lines.append(f"{'total':<8} {sum(self.seconds.values()):8.3f} s")
        return "\n".join(lines)
