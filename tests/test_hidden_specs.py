"""Editors' hidden files beside the specs are not customers.

Emacs locks a file being edited with `customers/.#acme.yaml`, usually a dangling symlink
(its target is `user@host.pid:boot`), sometimes a regular file; other editors and tools
leave `.acme.yaml`-style copies. None can be a customer (a name is a DNS-1123 label, so
it never starts with "."), and none may stop `compile` or `validate`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import cli, git, tree_state


@pytest.fixture
def acme(platform_copy: Path) -> Path:
    result = cli("add", "acme", cwd=platform_copy)
    assert result.code == 0, result.text
    return platform_copy


def lock_file(path: Path, kind: str) -> None:
    if kind == "dangling-symlink":
        os.symlink("someone@workstation.4242:1700000000", path)
        assert path.is_symlink() and not path.exists()
    else:
        path.write_text("someone@workstation.4242:1700000000")


@pytest.mark.parametrize("kind", ["dangling-symlink", "regular-file"])
def test_editor_files_in_customers_are_ignored(acme: Path, kind: str) -> None:
    lock_file(acme / "customers/.#acme.yaml", kind)
    # A hidden copy of a valid spec, and a hidden `.yml` (otherwise a "misnamed spec"),
    # are not customers either.
    (acme / "customers/.acme.yaml").write_bytes((acme / "customers/acme.yaml").read_bytes())
    (acme / "customers/.#acme.yml").write_text("not: [yaml\n")
    before = tree_state(acme)

    for command in ("compile", "validate", "list"):
        result = cli(command, cwd=acme)
        assert result.code == 0, result.text
        assert ".acme" not in result.text and ".#acme" not in result.text, result.text
    assert tree_state(acme) == before  # compile wrote nothing for them
    listed = cli("list", cwd=acme).out.splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["acme"]


def test_committed_editor_files_removed_are_no_mass_removal(acme: Path) -> None:
    """`mass-removal` counts customers at the base revision the way the tree's are
    counted: two hidden files gone since HEAD are not two customers removed."""
    for name in (".#acme.yaml", ".old.yaml"):
        (acme / "customers" / name).write_text("name: acme\n")
    git("add", "-A", cwd=acme)
    git("commit", "-q", "-m", "oops: editor files", cwd=acme)
    for name in (".#acme.yaml", ".old.yaml"):
        (acme / "customers" / name).unlink()

    result = cli("validate", cwd=acme)
    assert result.code == 0, result.text
    assert "mass-removal" not in result.text
