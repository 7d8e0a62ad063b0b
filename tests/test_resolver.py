"""resolver.Resolver answers what Path.resolve answers, symlinks and all."""

from __future__ import annotations

from pathlib import Path

from gitops_gen.resolver import Resolver

CASES = ["a/b/f.yaml", "link/b/f.yaml", "a/b/flink", "a/up/a/b/f.yaml", "missing/x/y",
         "dangling", "dangling/below", "link/b/../b/f.yaml", "a/b", "a/up/link/b/flink",
         "loop", "."]


def test_each_path_resolves_as_path_resolve_does(tmp_path: Path) -> None:
    (tmp_path / "a/b").mkdir(parents=True)
    (tmp_path / "a/b/f.yaml").write_text("x\n")
    (tmp_path / "link").symlink_to(tmp_path / "a")  # absolute
    (tmp_path / "a/b/flink").symlink_to("f.yaml")  # relative
    (tmp_path / "a/up").symlink_to("..")  # back up the tree
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "loop").symlink_to("loop")
    resolver = Resolver()
    for _ in range(2):  # the second round from what the first one kept
        for rel in CASES:
            path = tmp_path / rel
            try:
                expected: Path | str = path.resolve()
            except RuntimeError as error:  # a symlink loop, before Python 3.13
                expected = type(error).__name__
            try:
                got: Path | str = resolver.resolve(path)
            except RuntimeError as error:
                got = type(error).__name__
            assert got == expected, rel
