"""resolver.Resolver answers what Path.resolve answers, symlinks and all; is_within and
relative_posix what Path.is_relative_to and relative_to answer."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gitops_gen.resolver import Resolver, is_within, relative_posix

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


# names that share prefixes, so that `/a/bc` is tried against `/a/b`
_PARTS = st.lists(st.sampled_from(["a", "b", "ab", "b.c", ".x", "a b"]), max_size=4)


@given(_PARTS, _PARTS, st.booleans())
def test_string_tests_answer_as_pathlib_does(top: list[str], below: list[str],
                                             inside: bool) -> None:
    root = Path("/", *top)
    path = Path(root, *below) if inside else Path("/", *below)
    assert is_within(path, root) == path.is_relative_to(root)
    try:
        expected = path.relative_to(root).as_posix()
    except ValueError:
        expected = "ValueError"
    try:
        got = relative_posix(path, root)
    except ValueError:
        got = "ValueError"
    assert got == expected
