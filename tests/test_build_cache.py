"""The build cache: a warm `validate` equals a cold one, and builds only what changed.

Each test has a cache directory of its own (`GITOPS_GEN_CACHE`, with the pinned tools
linked in), real helm and kustomize, and the CLI in new processes. The build counts come
from `validate --timings` (stderr).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from gitops_gen.buildcache import FORMAT, BuildCache, build_key
from gitops_gen.model import BuildResult, Finding, Manifest
from tests.conftest import CliResult, cli

TEMPLATE = "gitops/chart/templates/service.yaml"


@pytest.fixture
def fleet(platform: Path, cache: Path) -> Path:
    """A platform with two customers, compiled but not committed (no validate yet)."""
    for name in ("acme", "globex"):
        (platform / "customers" / f"{name}.yaml").write_text(f"name: {name}\n")
    result = cli("compile", cwd=platform)
    assert result.code == 0, result.text
    return platform


def validate(root: Path, *args: str) -> tuple[CliResult, dict[str, int]]:
    """`validate --timings --format json` and its build counts."""
    result = cli("validate", "--timings", "--format", "json", *args, cwd=root)
    assert result.code in (0, 1), result.text
    match = re.search(r"build: (\d+) Applications, (\d+) built, (\d+) from the cache", result.err)
    assert match, result.err
    total, built, cached = map(int, match.groups())
    return result, {"applications": total, "built": built, "cached": cached}


def forget_runs(cache: Path) -> None:
    """Drop the run memo (runmemo.py), which would replay an unchanged tree's report
    without looking at these caches at all."""
    shutil.rmtree(cache.parent / "runs", ignore_errors=True)


def findings(result: CliResult) -> list[tuple[str, str | None, str]]:
    return [(f["file"], f["customer"], f["rule"]) for f in json.loads(result.out)["findings"]]


def entries(cache: Path, customer: str) -> list[Path]:
    return sorted((cache / customer).glob("*.json"))


def test_a_warm_validate_builds_nothing_and_reports_the_same(fleet: Path, cache: Path) -> None:
    cold, cold_counts = validate(fleet)
    warm, warm_counts = validate(fleet)
    assert cold_counts == {"applications": 2, "built": 2, "cached": 0}
    assert warm_counts == {"applications": 2, "built": 0, "cached": 2}
    assert (cold.code, cold.out) == (warm.code, warm.out) == (0, warm.out)
    assert len(entries(cache, "acme")) == 1


def test_one_spec_changed_rebuilds_that_customer_only(fleet: Path) -> None:
    validate(fleet)
    (fleet / "customers" / "acme.yaml").write_text("name: acme\ntier: large\n")
    assert cli("compile", cwd=fleet).code == 0
    _, counts = validate(fleet)
    assert counts == {"applications": 2, "built": 1, "cached": 1}


def test_no_cache_builds_everything(fleet: Path) -> None:
    validate(fleet)
    _, counts = validate(fleet, "--no-cache")
    assert counts == {"applications": 2, "built": 2, "cached": 0}


def overlay_counts(result: CliResult) -> tuple[int, int]:
    """(kustomize overlays built in batches, taken from the cache) of a `--timings` run."""
    match = re.search(r"(\d+) kustomize overlays built in batches, (\d+) from the cache",
                      result.err)
    assert match, result.err
    return int(match.group(1)), int(match.group(2))


def test_a_values_change_takes_the_overlays_from_the_cache(fleet: Path, cache: Path) -> None:
    """What `bump-image` does to every customer: new Helm values, the same overlays."""
    first, _ = validate(fleet)
    assert overlay_counts(first) == (2, 0)
    template = fleet / TEMPLATE
    template.write_text(template.read_text().replace("metadata:", "metadata:\n  # x", 1))
    result, counts = validate(fleet)
    assert counts == {"applications": 2, "built": 2, "cached": 0}
    assert overlay_counts(result) == (0, 2)
    cold, _ = validate(fleet, "--no-cache")
    assert overlay_counts(cold) == (2, 0)
    assert (result.code, result.out) == (cold.code, cold.out) == (0, cold.out)


def test_an_overlay_edited_after_a_warm_run_is_built_again(fleet: Path, cache: Path) -> None:
    validate(fleet)
    namespace = fleet / "gitops/apps/customer-acme/namespace.yaml"
    namespace.write_text(namespace.read_text().replace(
        "  labels:", "  labels:\n    team: [not, a, string]", 1))
    template = fleet / TEMPLATE  # and every app to be rebuilt
    template.write_text(template.read_text().replace("metadata:", "metadata:\n  # x", 1))
    result, counts = validate(fleet)
    # globex's overlay from the cache; acme's built again (alone: a batch takes two)
    assert counts["built"] == 2 and overlay_counts(result) == (0, 1)
    built = {(f, c, rule) for f, c, rule in findings(result) if rule != "drift"}
    assert built and all(c == "acme" for _, c, _ in built), findings(result)
    cold, _ = validate(fleet, "--no-cache")
    assert findings(cold) == findings(result)


def test_a_chart_broken_after_a_warm_run_is_found(fleet: Path) -> None:
    validate(fleet)
    template = fleet / TEMPLATE
    template.write_text(template.read_text().replace("{{", "{{ .Values.nope.deeper }}{{", 1))
    result, counts = validate(fleet)
    assert counts["built"] == 2  # the chart is an input of every customer
    assert result.code == 1
    assert {(TEMPLATE, "acme", "build"), (TEMPLATE, "globex", "build")} <= set(findings(result))
    cold, _ = validate(fleet, "--no-cache")
    assert findings(cold) == findings(result)


def test_an_entry_under_another_key_is_not_used(fleet: Path, cache: Path) -> None:
    """A good build copied over the entry of a broken tree (as a stale or forged file
    would be) names the wrong key inside: ignored, the tree is rebuilt and fails."""
    validate(fleet)
    [good] = entries(cache, "acme")
    template = fleet / TEMPLATE
    template.write_text(template.read_text().replace("{{", "{{ .Values.nope.deeper }}{{", 1))
    validate(fleet)
    bad = next(p for p in entries(cache, "acme") if p != good)
    bad.write_bytes(good.read_bytes())
    forget_runs(cache)
    result, counts = validate(fleet)
    assert counts["built"] >= 1
    assert (TEMPLATE, "acme", "build") in findings(result)


@pytest.mark.parametrize("damage", ["payload", "truncate", "garbage", "format"])
def test_a_damaged_entry_is_rebuilt(fleet: Path, cache: Path, damage: str) -> None:
    cold, _ = validate(fleet)
    [entry] = entries(cache, "acme")
    header, _, payload = entry.read_bytes().partition(b"\n")
    assert b'"Deployment"' in payload
    if damage == "payload":  # a hand edit: drop the objects, keep the header
        entry.write_bytes(header + b"\n" + payload.replace(b'"Deployment"', b'"Nothing"'))
    elif damage == "truncate":
        entry.write_bytes(header + b"\n" + payload[: len(payload) // 2])
    elif damage == "garbage":
        entry.write_bytes(os.urandom(64))
    else:
        fields = json.loads(header)
        entry.write_bytes(json.dumps({**fields, "format": FORMAT + 1}).encode() + b"\n" + payload)
    forget_runs(cache)
    result, counts = validate(fleet)
    assert counts == {"applications": 2, "built": 1, "cached": 1}
    assert result.out == cold.out
    # rebuilt and stored again (helm orders objects of one kind as Go's map iteration does)
    assert canonical(entry.read_bytes().partition(b"\n")[2]) == canonical(payload)


def canonical(payload: bytes) -> list[str]:
    return sorted(json.dumps(m, sort_keys=True) for m in json.loads(payload)["manifests"])


def test_entries_round_trip_and_check_their_key(tmp_path: Path) -> None:
    store = BuildCache(tmp_path)
    result = BuildResult("acme", [Manifest("acme", {"kind": "Namespace"}, "a/k.yaml")],
                         [Finding("gitops/chart", 3, "acme", "build", "boom")])
    key = build_key("acme", "gitops/argocd/customer-acme.yaml", "digest", {"helm": "v4"}, "1.37")
    store.put("acme", key, result)
    assert store.get("acme", key) == result
    other = build_key("acme", "gitops/argocd/customer-acme.yaml", "digest", {"helm": "v5"},
                      "1.37")
    assert other != key
    assert store.get("acme", other) is None
    (tmp_path / "acme" / f"{other}.json").write_bytes((tmp_path / "acme" / f"{key}.json")
                                                      .read_bytes())
    assert store.get("acme", other) is None


def test_each_customer_keeps_only_its_newest_entries(tmp_path: Path) -> None:
    store = BuildCache(tmp_path)
    for n in range(12):
        store.put("acme", build_key("acme", "f", str(n), {}, "1.37"), BuildResult("acme"))
    assert len(list((tmp_path / "acme").glob("*.json"))) == 8


# --- the spec and render caches (gitops_gen/speccache.py, rendercache.py) --------------


def test_specs_and_renders_are_reused_and_damaged_entries_ignored(fleet: Path, cache: Path) -> None:
    cold, _ = validate(fleet)
    [specs] = (cache.parent / "specs").glob("*.json")  # one pack per platform context
    [renders] = (cache.parent / "renders").glob("*.json")
    assert b"acme" in specs.read_bytes() and b"globex" in renders.read_bytes()
    for pack in (specs, renders):
        header, _, payload = pack.read_bytes().partition(b"\n")
        pack.write_bytes(header + b"\n" + payload.replace(b"acme", b"acne"))
    forget_runs(cache)
    again, _ = validate(fleet)
    assert (again.code, again.out) == (cold.code, cold.out)
    assert b"acne" not in specs.read_bytes() + renders.read_bytes()  # rewritten whole


def test_a_template_edited_after_a_warm_run_is_drift(fleet: Path) -> None:
    validate(fleet)
    template = fleet / "templates" / "namespace.yaml.j2"
    template.write_text(template.read_text().replace("labels:", "labels:\n    edited: \"yes\"", 1))
    result, _ = validate(fleet)
    assert result.code == 1
    drift = {(f, c) for f, c, rule in findings(result) if rule == "drift"}
    assert drift == {("gitops/apps/customer-acme/namespace.yaml", "acme"),
                     ("gitops/apps/customer-globex/namespace.yaml", "globex")}


def test_a_spec_edited_after_a_warm_run_is_checked_again(fleet: Path) -> None:
    validate(fleet)
    (fleet / "customers" / "acme.yaml").write_text("name: acme\nenv: {DB_PASSWORD: hunter2}\n")
    result = cli("validate", cwd=fleet)
    assert result.code == 2
    assert "customers/acme.yaml" in result.err and "plaintext secret" in result.err


def test_a_schema_change_checks_every_spec_again(fleet: Path) -> None:
    (fleet / "customers" / "acme.yaml").write_text("name: acme\ntier: large\n")
    assert cli("compile", cwd=fleet).code == 0
    validate(fleet)
    schema_path = fleet / "schemas" / "customer.schema.json"
    schema = json.loads(schema_path.read_text())
    schema["properties"]["tier"]["not"] = {"const": "large"}
    schema_path.write_text(json.dumps(schema))
    result = cli("validate", cwd=fleet)
    assert result.code == 2
    assert "customers/acme.yaml" in result.err and "tier" in result.err
