"""Bad input, case by case: every `tests/corpus/NN-name.yaml` is run through the CLI on a
fresh platform repo and must give its exit code and message — and change nothing.

A case file (the comment on top says what it is about):

    args: [compile]                 # the command line after `gitops-gen`
    files:                          # set up before the run; "{outside}" is a directory
      customers/acme.yaml: "..."    #   outside the repo. A file's content is its text,
                                    #   or {latin1: T} (each character one byte),
                                    #   {prefix: P, text: T, repeat: N} (P + T*N),
                                    #   {symlink: TARGET}; null deletes the path
    git: [[checkout, -q, --detach]] # git commands run after the files are in place
    exit: 2
    message: "customers/acme.yaml:3: malformed YAML"   # must appear in stdout+stderr
    absent: [hunter2]               # must not appear (a secret must never be echoed)

An arg may be {prefix, text, repeat} too, for arguments too long to write out.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import cli, git, tree_state

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(CORPUS.glob("*.yaml"))
# Hostile input is refused fast: parsing stops at the first refusal, size before parsing.
MAX_SECONDS = 20


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(
    case_file: Path, platform_copy: Path, tmp_path: Path
) -> None:
    case = yaml.safe_load(case_file.read_text("utf-8"))
    outside = tmp_path / "outside"
    outside.mkdir()
    for rel, content in (case.get("files") or {}).items():
        place(_path(rel, platform_copy, outside), content, outside)
    for args in case.get("git") or []:
        git(*args, cwd=platform_copy)
    before = tree_state(platform_copy)
    started = time.monotonic()
    result = cli(*[_text(arg, outside) for arg in case["args"]], cwd=platform_copy)
    elapsed = time.monotonic() - started
    assert result.code == case["exit"], result.text
    assert case["message"] in result.text
    assert "internal error" not in result.text
    for secret in case.get("absent") or []:
        assert secret not in result.text
    assert tree_state(platform_copy) == before
    assert elapsed < MAX_SECONDS


def place(path: Path, content: Any, outside: Path) -> None:
    if content is None:
        path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict) and "symlink" in content:
        path.symlink_to(_text(content["symlink"], outside))
    elif isinstance(content, dict) and "latin1" in content:
        path.write_bytes(content["latin1"].encode("latin-1"))
    else:
        path.write_bytes(_text(content, outside).encode("utf-8", "surrogateescape"))


def _text(value: str | dict[str, Any], outside: Path) -> str:
    if isinstance(value, dict):
        return str(value.get("prefix", "")) + value["text"] * value["repeat"]
    return value.replace("{outside}", str(outside))


def _path(rel: str, root: Path, outside: Path) -> Path:
    if rel.startswith("{outside}/"):
        return outside / rel.removeprefix("{outside}/")
    return root / rel
