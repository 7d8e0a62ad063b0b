"""The run memo: `validate` and `compile` of an unchanged tree redo nothing, of a tree
with a few customers changed redo only those — and always say what a cold run says.

Real platforms, real helm and kustomize, the CLI in new processes, a cache directory of
each test's own. Which path a run took is read from `validate --timings` (stderr): a
replayed report has no stages but `memo`; a partial run built only the changed customers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from gitops_gen import treestat
from gitops_gen.platform import load_platform
from tests.conftest import CliResult, cli, git

VALUES = "gitops/apps/customer-{}/values.yaml"


@pytest.fixture
def fleet(platform: Path, cache: Path) -> Path:
    """Four customers, compiled and validated once (so the memo holds a clean run), every
    file dated an hour back: no file is within the racy window (treestat.py)."""
    for name in ("acme", "globex", "initech", "umbrella"):
        (platform / "customers" / f"{name}.yaml").write_text(f"name: {name}\n")
    assert cli("compile", cwd=platform).code == 0
    age_files(platform)
    first = validate(platform)
    assert first.code == 0, first.text
    return platform


@pytest.fixture
def settled(fleet: Path) -> Path:
    """`fleet` once its files are out of the racy window, ctime included (which only
    time moves), and validated again: the memo then trusts their stats alone."""
    time.sleep(treestat.RACY_SECONDS + 0.1)
    assert validate(fleet).code == 0
    return fleet


def age_files(root: Path, seconds: int = 3600) -> None:
    past = time.time_ns() - seconds * 10**9
    for path in root.rglob("*"):
        if ".git" not in path.relative_to(root).parts and path.is_file():
            os.utime(path, ns=(past, past))


def validate(root: Path, *args: str) -> CliResult:
    result = cli("validate", "--timings", "--format", "json", *args, cwd=root)
    assert result.code in (0, 1), result.text
    return result


def stages(result: CliResult) -> list[str]:
    return re.findall(r"^(\w+) +[\d.]+ s$", result.err, re.MULTILINE)


def built(result: CliResult) -> int:
    match = re.search(r"(\d+) built", result.err)
    assert match, result.err
    return int(match.group(1))


def report(result: CliResult) -> tuple[int, dict[str, object]]:
    return result.code, json.loads(result.out)


def rewrite_keeping_size_and_mtime(path: Path, old: str, new: str) -> None:
    """An edit `ls -l` cannot see: same size, same mtime (only ctime tells)."""
    assert len(old) == len(new)
    info = path.stat()
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert path.stat().st_size == info.st_size


def test_an_unchanged_tree_gives_the_last_report_without_building(fleet: Path) -> None:
    again = validate(fleet)
    assert stages(again) == ["memo", "total"]
    assert report(again) == report(validate(fleet, "--no-cache"))


def test_a_replayed_report_imports_no_build_and_no_git(fleet: Path) -> None:
    """What a no-op run does without (~0.15 s of imports): helm's SDK and the build,
    GitPython. Python's own import log (-X importtime) names every module imported."""
    result = cli("validate", "--timings", cwd=fleet, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert stages(result) == ["memo", "total"], result.err
    imported = set(re.findall(r"^import time:.*\| +(\S+)$", result.err, re.MULTILINE))
    assert {"gitops_gen.validatememo", "gitops_gen.treestat"} <= imported  # the log works
    assert not imported & {"git", "helm_python", "gitops_gen.build", "gitops_gen.pipeline"}


def test_a_commit_that_leaves_the_specs_alone_keeps_the_memo(fleet: Path) -> None:
    git("add", "-A", cwd=fleet)
    git("commit", "-qm", "four customers", cwd=fleet)
    assert "memo" not in stages(validate(fleet))[:1]  # HEAD's specs changed: run again
    git("commit", "-qm", "a commit that changes no spec", "--allow-empty", cwd=fleet)
    assert stages(validate(fleet)) == ["memo", "total"]
    # the base is part of what a report says: another base, another run
    (fleet / "customers" / "umbrella.yaml").unlink()
    (fleet / "customers" / "initech.yaml").unlink()
    assert cli("compile", cwd=fleet).code == 0
    removed = validate(fleet)
    assert "mass-removal" in {f["rule"] for f in json.loads(removed.out)["findings"]}
    assert report(removed) == report(validate(fleet, "--no-cache"))


def test_a_mass_removal_found_before_holds_while_the_spec_names_do(fleet: Path) -> None:
    """The check compares the spec names with the base's (which the memo's key holds):
    a run that revalidates some customers, the names unchanged, takes its findings from
    the last run, without git."""
    for name in ("hooli", "initrode", "massive", "vandelay"):  # few enough change: partial
        (fleet / "customers" / f"{name}.yaml").write_text(f"name: {name}\n")
    assert cli("compile", cwd=fleet).code == 0
    git("add", "-A", cwd=fleet)
    git("commit", "-qm", "four customers", cwd=fleet)
    for name in ("umbrella", "initech"):
        (fleet / "customers" / f"{name}.yaml").unlink()
    assert cli("compile", cwd=fleet).code == 0
    assert "mass-removal" in {f["rule"] for f in report(validate(fleet))[1]["findings"]}
    values = fleet / VALUES.format("acme")
    values.write_text(values.read_text() + "# edited by hand\n")
    warm = cli("validate", "--timings", "--format", "json", cwd=fleet,
               env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert built(warm) == 1
    imported = set(re.findall(r"^import time:.*\| +(\S+)$", warm.err, re.MULTILINE))
    assert "gitops_gen.pipeline" in imported and "git" not in imported
    assert report(warm) == report(validate(fleet, "--no-cache"))
    (fleet / "customers" / "globex.yaml").unlink()
    assert cli("compile", cwd=fleet).code == 0
    again = validate(fleet)  # a customer gone: everything again (validatememo.py)
    [removal] = [f for f in report(again)[1]["findings"] if f["rule"] == "mass-removal"]
    assert "removes 3 customers at once (globex, initech, umbrella)" in removal["message"]
    assert report(again) == report(validate(fleet, "--no-cache"))


def test_no_cache_neither_uses_nor_needs_the_memo(fleet: Path) -> None:
    cold = validate(fleet, "--no-cache")
    assert "memo" not in stages(cold) and built(cold) == 4


def test_an_edit_hidden_from_size_and_mtime_is_still_found(settled: Path) -> None:
    fleet = settled
    values = fleet / VALUES.format("globex")
    rewrite_keeping_size_and_mtime(values, "replicas: 1", "replicas: 7")
    warm = validate(fleet)
    assert warm.code == 1
    assert ("drift", "globex") in {(f["rule"], f["customer"])
                                   for f in json.loads(warm.out)["findings"]}
    assert report(warm) == report(validate(fleet, "--no-cache"))


def test_files_changed_within_the_racy_window_are_told_by_content(platform: Path) -> None:
    """On a file system with coarse timestamps an edit right after a run can keep every
    stat: files that recent are identified by their bytes as well, and compared by them."""
    spec = platform / "customers" / "acme.yaml"
    spec.write_text("name: acme\n")
    template = platform / "templates" / "namespace.yaml.j2"
    template.write_text(template.read_text())
    now = treestat.tree_stat(load_platform(platform))
    assert now is not None
    digest = hashlib.sha256(b"name: acme\n").hexdigest()
    assert now.racy["customers/acme.yaml"] == ["acme", digest]
    assert now.changed_customers(now, platform) == set()
    # the same stats, other bytes (what a coarse clock lets happen): told apart by content
    for rel in ("customers/acme.yaml", "templates/namespace.yaml.j2"):
        owner, _ = now.racy[rel]
        forged = replace(now, racy={**now.racy, rel: [owner, "0" * 64]})
        assert now.changed_customers(forged, platform) == ({"acme"} if owner else None)
    # settled files are told by their stats alone
    time.sleep(treestat.RACY_SECONDS + 0.05)
    settled = treestat.tree_stat(load_platform(platform))
    assert settled is not None and "customers/acme.yaml" not in settled.racy
    assert settled.changed_customers(now, platform) == set()


def test_one_customer_changed_is_validated_alone_and_reports_what_a_cold_run_does(
    fleet: Path,
) -> None:
    # globex takes acme's host by hand: drift for globex, and an ingress-hosts finding
    # on acme too, whose own files did not change
    values = fleet / VALUES.format("globex")
    values.write_text(values.read_text().replace("globex.app.", "acme.app."))
    warm = validate(fleet)
    assert built(warm) == 1 and "build" in stages(warm)
    findings = {(f["rule"], f["customer"]) for f in json.loads(warm.out)["findings"]}
    assert {("drift", "globex"), ("policy/ingress-hosts", "globex"),
            ("policy/ingress-hosts", "acme")} <= findings
    assert report(warm) == report(validate(fleet, "--no-cache"))
    # and back: acme's finding goes with globex's change
    assert cli("compile", "globex", cwd=fleet).code == 0
    fixed = validate(fleet)
    assert fixed.code == 0, fixed.out
    assert report(fixed) == report(validate(fleet, "--no-cache"))


def test_a_shared_file_changed_runs_everything(fleet: Path) -> None:
    template = fleet / "gitops/chart/templates/service.yaml"
    template.write_text(template.read_text() + "\n")
    assert built(validate(fleet)) == 4


def test_compile_of_an_unchanged_tree_writes_nothing_and_repairs_hidden_edits(
    settled: Path,
) -> None:
    """(`--timings` on stderr tells the two paths apart.)"""
    fleet = settled
    assert cli("compile", cwd=fleet).out.strip() == (
        "compiled 4 customer(s): 0 written, 0 deleted")
    noop = cli("compile", "--timings", cwd=fleet)  # the tree the last compile left
    assert noop.out.strip() == "compiled 4 customer(s): 0 written, 0 deleted"
    assert stages(noop) == ["memo", "total"], noop.err
    values = fleet / VALUES.format("initech")
    before = values.read_bytes()
    rewrite_keeping_size_and_mtime(values, "replicas: 1", "replicas: 7")
    result = cli("compile", "--timings", cwd=fleet)
    assert result.out.strip() == "compiled 4 customer(s): 1 written, 0 deleted"
    assert stages(result) == ["memo", "specs", "render", "diff", "write", "record", "total"]
    assert values.read_bytes() == before


def test_compile_after_one_spec_changed_leaves_the_tree_a_full_compile_would(
    fleet: Path,
) -> None:
    (fleet / "customers" / "umbrella.yaml").write_text("name: umbrella\ntier: large\n")
    result = cli("-v", "compile", cwd=fleet)
    assert "wrote gitops/apps/customer-umbrella/values.yaml" in result.out
    assert validate(fleet, "--no-cache").code == 0  # no drift: what compile would write
