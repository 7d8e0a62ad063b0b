"""A one-line progress bar for long runs, on a terminal only.

Silent when the stream is not a TTY (CI logs, pipes, the pre-commit hook's captured
output) and for runs that end before `DELAY` seconds: a bar that flashes by is noise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[int, int], None]  # told (done, of how many) as work goes on

DELAY = 0.5  # seconds before the first draw
WIDTH = 30


class ProgressBar:
    """`build  340/1000 [==========          ]`, redrawn in place; cleared when done."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream, self.label = stream, label
        self.start = time.monotonic()
        self.drawn = -1  # bar cells last drawn; -1: nothing on screen

    def __call__(self, done: int, total: int) -> None:
        if done >= total:
            self._clear()
            return
        cells = WIDTH * done // max(total, 1)
        if cells == self.drawn or time.monotonic() - self.start < DELAY:
            return
        bar = "=" * cells + " " * (WIDTH - cells)
        self.stream.write(f"\r{self.label} {done}/{total} [{bar}]")
        self.stream.flush()
        self.drawn = cells

    def _clear(self) -> None:
        if self.drawn >= 0:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = -1


def progress_bar(stream: TextIO, label: str) -> ProgressBar | None:
    """A bar on `stream` if it is a terminal, else None (no progress output at all)."""
    return ProgressBar(stream, label) if stream.isatty() else None
