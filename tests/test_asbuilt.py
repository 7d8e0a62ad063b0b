"""Schema and policy checks run customer by customer as the build goes (asbuilt.py): on
real platforms through the CLI, what they find on each kind of object a validate checks
is what a check of everything at the end found — a customer's Argo CD objects included,
and the names of customers the run did not build."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli

APP = "gitops/argocd/customer-acme.yaml"


@pytest.fixture
def fleet(platform_copy: Path, cache: Path) -> Path:
    for name in ("acme", "globex", "initech"):
        (platform_copy / "customers" / f"{name}.yaml").write_text(f"name: {name}\n")
    assert cli("compile", cwd=platform_copy).code == 0
    return platform_copy


def findings(root: Path, *args: str) -> list[dict[str, Any]]:
    result = cli("validate", "--format", "json", *args, cwd=root)
    assert result.code in (0, 1), result.text
    found: list[dict[str, Any]] = json.loads(result.out)["findings"]
    return found


def of(found: list[dict[str, Any]], rule: str, file: str) -> list[str]:
    return [f["message"] for f in found if f["rule"] == rule and f["file"] == file]


def test_a_customers_application_is_judged_by_policy_and_its_schema(fleet: Path) -> None:
    app = fleet / APP
    app.write_text(app.read_text()
                   .replace("namespace: customer-acme", "namespace: customer-globex")
                   .replace("limit: 5", 'limit: "five"'))
    found = findings(fleet)
    [namespace] = of(found, "policy/namespace", APP)
    assert 'deploys to namespace "customer-globex" of customer "globex"' in namespace
    assert any("spec.syncPolicy.retry.limit: expected integer" in message
               for message in of(found, "schema", APP)), found


def test_a_customer_checked_again_alone_still_knows_whose_namespace_it_entered(
        fleet: Path) -> None:
    """After a full run, a change to acme alone validates acme alone (the run memo); the
    namespace it deploys to is still named as globex's, whom this run did not build."""
    assert findings(fleet) == []
    hour_ago = time.time() - 3600  # out of the memo's racy window
    for path in fleet.rglob("*"):
        if ".git" not in path.parts:
            os.utime(path, (hour_ago, hour_ago))
    assert findings(fleet) == []  # the memo, recorded on settled files
    app = fleet / APP
    app.write_text(app.read_text().replace("namespace: customer-acme",
                                           "namespace: customer-globex"))
    partial = cli("validate", "--format", "json", "--timings", cwd=fleet)
    assert ", 1 built," in partial.err, partial.err  # acme's, the others' from the memo
    [namespace] = of(json.loads(partial.out)["findings"], "policy/namespace", APP)
    assert 'of customer "globex"' in namespace
    assert of(findings(fleet, "--no-cache"), "policy/namespace", APP) == [namespace]
