"""The progress bar: drawn on a terminal only, after a delay, and cleared at the end."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from gitops_gen import progress
from gitops_gen.progress import ProgressBar, progress_bar
from gitops_gen.tree import TreeChange, apply
from tests.conftest import cli, on_a_terminal


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_unless_the_stream_is_a_terminal() -> None:
    assert progress_bar(io.StringIO(), "build") is None
    assert isinstance(progress_bar(Terminal(), "build"), ProgressBar)


def test_a_bar_is_redrawn_in_place_and_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY", 0.0)
    out = Terminal()
    bar = ProgressBar(out, "build")
    for done in range(1, 101):
        bar(done, 100)
    text = out.getvalue()
    assert "\rbuild 50/100 [" + "=" * 15 + " " * 15 + "]" in text
    assert text.count("\r") == progress.WIDTH + 1  # one draw per cell, then the clearing
    assert text.endswith("\r\033[K")


def test_a_short_run_draws_nothing() -> None:
    out = Terminal()
    bar = ProgressBar(out, "build")  # the default delay has not passed
    for done in range(1, 11):
        bar(done, 10)
    assert out.getvalue() == ""


def test_writing_the_tree_tells_each_file_done(tmp_path: Path) -> None:
    """What compile's `write` bar is told: files written (many at once), then deleted."""
    (tmp_path / "gone.yaml").write_text("x: 1\n")
    writes = {f"gitops/apps/c{i}/values.yaml": b"x: 1\n" for i in range(100)}
    seen: list[tuple[int, int]] = []
    apply(tmp_path, TreeChange(writes, ["gone.yaml"]),
          lambda done, total: seen.append((done, total)))
    assert seen == [(done, 101) for done in range(1, 102)]
    assert not (tmp_path / "gone.yaml").exists()
    assert (tmp_path / "gitops/apps/c99/values.yaml").read_bytes() == b"x: 1\n"


def test_validate_draws_its_build_bar_on_a_terminal_only(platform: Path, cache: Path) -> None:
    """Through the CLI: a cold build of 150 customers (~1 s here, twice the bar's delay)
    draws `build N/150 [...]` on a terminal and clears it; piped, stderr stays empty."""
    for i in range(150):
        (platform / f"customers/c{i:03d}.yaml").write_text(f"name: c{i:03d}\n")
    assert cli("compile", cwd=platform).code == 0
    code, err, _ = on_a_terminal(platform, "validate", "--no-cache", stream="stderr")
    assert code == 0, err
    assert re.search(r"\rbuild \d+/150 \[=+ *\]", err), repr(err)
    assert err.endswith("\r\033[K"), repr(err)
    piped = cli("validate", "--no-cache", cwd=platform)
    assert piped.code == 0, piped.text
    assert piped.err == ""
