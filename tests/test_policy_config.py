"""An unknown rule id in gitops-gen.yaml's `policy:` is refused when the config is read.

A typo there (`no-latest` for `image-tag`) would leave a rule on that was meant off, or
off that was meant on. It is an input error of the config like any other: every command
refuses it (exit 2, nothing written), and `validate` does so before building anything.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from gitops_gen.policy import RULES
from tests.conftest import cli, tree_state
from tests.test_validate_cli import bin_dir_with, which

KNOWN = ", ".join(sorted(RULES))


@pytest.fixture
def acme(platform_copy: Path) -> Path:
    result = cli("add", "acme", cwd=platform_copy)
    assert result.code == 0, result.text
    config = platform_copy / "gitops-gen.yaml"
    text, count = re.subn(r"^policy: \{\}$", "policy:\n  probes: false\n  no-latest: true",
                          config.read_text(), flags=re.MULTILINE)
    assert count == 1
    config.write_text(text)
    return platform_copy


def assert_refused(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    before = tree_state(root)
    result = cli(*args, cwd=root, env=env)
    assert result.code == 2, result.text
    assert result.out == ""
    assert tree_state(root) == before
    return result.err


def test_validate_refuses_before_building(acme: Path, tmp_path: Path) -> None:
    # No helm or kustomize anywhere (PATH and tool cache): had validate got as far as a
    # build, it would say "helm not found" instead.
    path = bin_dir_with(tmp_path, which("git"), Path(sys.executable))
    empty_cache = tmp_path / "empty-cache"
    empty_cache.mkdir()
    err = assert_refused(acme, "validate", env={"PATH": path,
                                                "GITOPS_GEN_CACHE": str(empty_cache)})
    line = acme.joinpath("gitops-gen.yaml").read_text().splitlines().index("  no-latest: true")
    assert err == (f"gitops-gen: error: gitops-gen.yaml:{line + 1}: policy.no-latest: unknown "
                   f"policy rule 'no-latest'; valid rules: {KNOWN}\n")


def test_compile_refuses_too(acme: Path) -> None:
    """compile does not run the policy, but it reads the same config: a broken config
    is refused by every command, as one with an unknown top-level key is."""
    (acme / "customers/acme.yaml").write_text("name: acme\nreplicas: 3\n")  # work to do
    err = assert_refused(acme, "compile")
    assert "policy.no-latest: unknown policy rule 'no-latest'" in err
