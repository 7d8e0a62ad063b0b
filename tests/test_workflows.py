"""The Gitea Actions workflows are valid workflow files (the public GitHub Actions
workflow schema, which Gitea Actions follows), checked with check-jsonschema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

WORKFLOWS = sorted(
    [*REPO_ROOT.glob(".gitea/workflows/*.yml"), *REPO_ROOT.glob("scaffold/.gitea/workflows/*.yml")]
)


def test_there_are_workflows() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"ci.yml", "bump-image.yml", "validate.yml"} <= names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_workflow_matches_the_public_schema(workflow: Path) -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows",
                           str(workflow)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bump_workflow_runs_on_dispatch_with_a_tag_and_pushes() -> None:
    flow = yaml.safe_load((REPO_ROOT / ".gitea/workflows/bump-image.yml").read_text())
    triggers = flow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["workflow_dispatch"]["inputs"]["tag"]["required"] is True
    assert "repository_dispatch" in triggers
    steps = flow["jobs"]["bump"]["steps"]
    assert any('gitops-gen bump-image "$TAG" --push' in str(s.get("run", "")) for s in steps)
    env = flow["jobs"]["bump"]["env"]
    assert env["GIT_AUTHOR_NAME"] and env["GIT_COMMITTER_EMAIL"]


def test_ci_runs_the_readme_test_command_and_a_junit_validate() -> None:
    text = (REPO_ROOT / ".gitea/workflows/ci.yml").read_text()
    assert "bash scripts/test.sh" in text
    assert "gitops-gen validate --format junit" in text
