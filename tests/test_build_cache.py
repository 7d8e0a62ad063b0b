"""The build cache: a warm `validate` equals a cold one, and builds only what changed.

Each test has a cache directory of its own (`GITOPS_GEN_CACHE`, with the pinned tools
linked in), real helm and kustomize, and the CLI in new processes. The build counts come
from `validate --timings` (stderr).
"""

from __future__ import annotations

import json
import marshal
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitops_gen import cachestore
from gitops_gen.buildcache import FORMAT, KEEP_PER_CUSTOMER, BuildCache, build_key
from gitops_gen.cachestore import GRACE_SECONDS, INDEX_KEY, read_entry, write_entry
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


# The build cache's layout (cachestore.SegmentStore): `index.json` maps each customer to
# its rows [key, segment, offset, length, sha256], newest first; the entries themselves
# (a header line and the payload) lie in the files of `segments/`.


def index(cache: Path) -> dict[str, list[list[Any]]]:
    payload = read_entry(cache / "index.json", FORMAT, INDEX_KEY)
    assert isinstance(payload, dict)
    return payload


def entries(cache: Path, customer: str) -> list[list[Any]]:
    """The customer's rows in the index, newest first."""
    return index(cache).get(customer, [])


def record(cache: Path, row: list[Any]) -> bytes:
    """The bytes of the entry a row points at."""
    _, segment, offset, length, _ = row
    with (cache / "segments" / segment).open("rb") as f:
        f.seek(offset)
        return f.read(length)


def rewrite_index(cache: Path, rows: dict[str, list[list[Any]]]) -> None:
    """Replace the index as the cache writes it (a valid index, whatever its rows say)."""
    write_entry(cache / "index.json", FORMAT, INDEX_KEY, rows)


def files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file())


def age(*paths: Path) -> None:
    """Make files look written before GRACE_SECONDS (an hour) ago."""
    then = time.time() - GRACE_SECONDS - 60
    for path in paths:
        os.utime(path, (then, then))


def test_a_warm_validate_builds_nothing_and_reports_the_same(fleet: Path, cache: Path) -> None:
    cold, cold_counts = validate(fleet)
    warm, warm_counts = validate(fleet)
    assert cold_counts == {"applications": 2, "built": 2, "cached": 0}
    assert warm_counts == {"applications": 2, "built": 0, "cached": 2}
    assert (cold.code, cold.out) == (warm.code, warm.out) == (0, warm.out)
    assert len(entries(cache, "acme")) == 1
    # the index and one segment, whatever the number of customers
    assert [p.relative_to(cache).parts[0] for p in files(cache)] == ["index.json", "segments"]


# Runs the CLI in one process and prints its exit code and which of the top-level
# modules named in MODULES_ASKED it imported (not a GITOPS_GEN_ variable: the run memo
# keys on those).
_MODULES_IMPORTED = """
import os, sys
from gitops_gen.cli import main  # not the process entry, which ends the process at once
code = main(sys.argv[1:])
asked = set(os.environ["MODULES_ASKED"].split())
print(code, sorted({m.split(".")[0] for m in sys.modules} & asked))
"""


def modules_imported(root: Path, modules: str, *args: str) -> str:
    """`CODE [modules]`: the exit code of `gitops-gen ARGS` and which of `modules`
    (space-separated) it imported."""
    proc = subprocess.run([sys.executable, "-c", _MODULES_IMPORTED, *args], cwd=root,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MODULES_ASKED": modules})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_one_spec_changed_rebuilds_that_customer_only(fleet: Path) -> None:
    validate(fleet)
    (fleet / "customers" / "acme.yaml").write_text("name: acme\ntier: large\n")
    assert cli("compile", cwd=fleet).code == 0
    _, counts = validate(fleet)
    assert counts == {"applications": 2, "built": 1, "cached": 1}


def test_the_in_process_helm_is_loaded_for_three_builds_or_more(fleet: Path) -> None:
    """Loading the SDK takes ~0.1 s, and the first render of each chart runs the binary
    as well: for one or two builds, the binary alone is quicker."""
    assert modules_imported(fleet, "helm_python", "validate") == "0 []"  # two builds
    (fleet / "customers" / "acme.yaml").write_text("name: acme\ntier: large\n")
    (fleet / "customers" / "globex.yaml").write_text("name: globex\ntier: large\n")
    (fleet / "customers" / "initech.yaml").write_text("name: initech\n")
    assert cli("compile", cwd=fleet).code == 0
    assert modules_imported(fleet, "helm_python", "validate") == "0 ['helm_python']"
    (fleet / "customers" / "acme.yaml").write_text("name: acme\n")
    assert cli("compile", cwd=fleet).code == 0
    assert modules_imported(fleet, "helm_python", "validate") == "0 []"  # one build


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


def test_new_helm_values_take_the_overlays_beside_them_from_the_cache(
        fleet: Path, cache: Path) -> None:
    """`bump-image`'s change: every customer's values.yaml, which lies in its overlay's
    directory but is not read by kustomize, changes; the overlays are not built again."""
    validate(fleet)
    config = fleet / "gitops-gen.yaml"
    config.write_text(re.sub(r"\n  tag: .*\n", '\n  tag: "9.9.9"\n', config.read_text(), count=1))
    assert cli("compile", cwd=fleet).code == 0
    assert "9.9.9" in (fleet / "gitops/apps/customer-acme/values.yaml").read_text()
    result, counts = validate(fleet)
    assert counts == {"applications": 2, "built": 2, "cached": 0}
    assert overlay_counts(result) == (0, 2)
    cold, _ = validate(fleet, "--no-cache")
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


def test_keys_that_are_not_strings_mean_the_same_warm_and_cold(fleet: Path) -> None:
    """A chart's `1:` and `on:` keys are "1" and "true" to Kubernetes, whether the build
    is fresh or read back from the cache (JSON, where every key is a string); `1` and
    `on` are two keys, though 1 == True in Python."""
    (fleet / "gitops/chart/templates/keys.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: keys\n"
        "data:\n  1: b25l\n  on: dHdv\n  2.50: dGhyZWU=\n")
    assert cli("compile", cwd=fleet).code == 0
    cold, cold_counts = validate(fleet)
    forget_runs(fleet.parent / "cache" / "builds")
    warm, warm_counts = validate(fleet)
    assert (cold_counts["built"], warm_counts["cached"]) == (2, 2)
    messages = [f["message"] for f in json.loads(cold.out)["findings"]
                if f["rule"] == "policy/secret-data"]
    assert len(messages) == 2 and all("(data keys: 1, 2.5, true)" in m for m in messages), \
        cold.out
    assert (warm.code, warm.out) == (cold.code, cold.out) == (1, cold.out)


def test_an_entry_under_another_key_is_not_used(fleet: Path, cache: Path) -> None:
    """The index row of a broken tree's build pointed at a good build's bytes (as a stale
    or forged row would be): the entry names the wrong key inside, so it is ignored, and
    the tree is rebuilt and fails."""
    validate(fleet)
    [good] = entries(cache, "acme")
    template = fleet / TEMPLATE
    template.write_text(template.read_text().replace("{{", "{{ .Values.nope.deeper }}{{", 1))
    validate(fleet)
    rows = index(cache)
    bad, older = rows["acme"]
    assert older == good and bad[0] != good[0]
    rows["acme"][0] = [bad[0], *good[1:]]
    rewrite_index(cache, rows)
    forget_runs(cache)
    result, counts = validate(fleet)
    assert counts["built"] >= 1
    assert (TEMPLATE, "acme", "build") in findings(result)


@pytest.mark.parametrize("damage", ["payload", "truncate", "garbage", "format"])
def test_a_damaged_entry_is_rebuilt(fleet: Path, cache: Path, damage: str) -> None:
    """The index points at a damaged copy of the entry (its length, so that only the
    entry's own header and checksum can tell): rebuilt, and stored again."""
    cold, _ = validate(fleet)
    [row] = entries(cache, "acme")
    header, _, payload = record(cache, row).partition(b"\n")
    assert b"Deployment" in payload  # marshalled: a string's bytes as they are
    if damage == "payload":  # a hand edit that still reads, header kept: another kind
        damaged = header + b"\n" + payload.replace(b"Deployment", b"Deploymenx")
        assert marshal.loads(damaged.partition(b"\n")[2]) != marshal.loads(payload)
    elif damage == "truncate":
        damaged = header + b"\n" + payload[: len(payload) // 2]
    elif damage == "garbage":
        damaged = os.urandom(64)
    else:
        fields = json.loads(header)
        damaged = json.dumps({**fields, "format": FORMAT + 1}).encode() + b"\n" + payload
    segment = cache / "segments" / row[1]
    rows = index(cache)
    rows["acme"] = [[row[0], row[1], segment.stat().st_size, len(damaged), row[4]]]
    with segment.open("ab") as f:
        f.write(damaged)
    rewrite_index(cache, rows)
    forget_runs(cache)
    result, counts = validate(fleet)
    assert counts == {"applications": 2, "built": 1, "cached": 1}
    assert result.out == cold.out
    # rebuilt and stored again (helm orders objects of one kind as Go's map iteration does)
    [again] = entries(cache, "acme")
    assert again[0] == row[0] and again[1] != row[1]
    assert canonical(record(cache, again).partition(b"\n")[2]) == canonical(payload)


def test_a_missing_segment_is_rebuilt(fleet: Path, cache: Path) -> None:
    cold, _ = validate(fleet)
    for segment in (cache / "segments").iterdir():
        segment.unlink()
    forget_runs(cache)
    result, counts = validate(fleet)
    assert counts == {"applications": 2, "built": 2, "cached": 0}
    assert (result.code, result.out) == (cold.code, cold.out)
    forget_runs(cache)
    _, counts = validate(fleet)
    assert counts == {"applications": 2, "built": 0, "cached": 2}


def canonical(payload: bytes) -> list[str]:
    return sorted(json.dumps(m, sort_keys=True) for m in marshal.loads(payload)["manifests"])


def test_entries_round_trip_and_check_their_key(tmp_path: Path) -> None:
    store = BuildCache(tmp_path)
    result = BuildResult("acme", [Manifest("acme", {"kind": "Namespace"}, "a/k.yaml")],
                         [Finding("gitops/chart", 3, "acme", "build", "boom")])
    key = build_key("acme", "gitops/argocd/customer-acme.yaml", "digest", {"helm": "v4"}, "1.37")
    store.put("acme", key, result)
    assert store.get("acme", key) == result  # before it is published
    store.flush()
    store = BuildCache(tmp_path)
    assert store.get("acme", key) == result
    other = build_key("acme", "gitops/argocd/customer-acme.yaml", "digest", {"helm": "v5"},
                      "1.37")
    assert other != key
    assert store.get("acme", other) is None
    rows = index(tmp_path)
    [row] = rows["acme"]
    rows["acme"].insert(0, [other, *row[1:]])  # `other` pointed at the bytes of `key`
    rewrite_index(tmp_path, rows)
    store = BuildCache(tmp_path)
    assert store.get("acme", other) is None
    assert store.get("acme", key) == result


def test_entries_that_do_not_check_out_are_absent(tmp_path: Path) -> None:
    """A byte changed, a segment cut short or gone: absent, not an error."""
    store = BuildCache(tmp_path)
    keys = [build_key(name, "f", "d", {}, "1.37") for name in ("acme", "globex")]
    for name, key in zip(("acme", "globex"), keys, strict=True):
        store.put(name, key, BuildResult(name, [Manifest(name, {"kind": "Namespace"}, "n")]))
    store.flush()
    [acme], [globex] = entries(tmp_path, "acme"), entries(tmp_path, "globex")
    segment = tmp_path / "segments" / acme[1]
    data = bytearray(segment.read_bytes())
    data[acme[2] + acme[3] - 3] ^= 1  # in acme's payload
    segment.write_bytes(bytes(data))
    store = BuildCache(tmp_path)
    assert store.get("acme", keys[0]) is None
    assert store.get("globex", keys[1]) is not None
    segment.write_bytes(bytes(data[: globex[2] + globex[3] - 1]))
    assert BuildCache(tmp_path).get("globex", keys[1]) is None
    segment.unlink()
    assert BuildCache(tmp_path).get("globex", keys[1]) is None


def test_each_customer_keeps_only_its_newest_entries(tmp_path: Path) -> None:
    keys = [build_key("acme", "f", str(n), {}, "1.37") for n in range(15)]
    store = BuildCache(tmp_path)
    for key in keys[:12]:
        store.put("acme", key, BuildResult("acme"))
    store.flush()
    assert [row[0] for row in entries(tmp_path, "acme")] == keys[11:3:-1]
    store = BuildCache(tmp_path)  # the next run: its entries first, then the newest before
    for key in keys[12:]:
        store.put("acme", key, BuildResult("acme"))
    store.flush()
    assert KEEP_PER_CUSTOMER == 8
    assert [row[0] for row in entries(tmp_path, "acme")] == keys[:6:-1]
    store = BuildCache(tmp_path)
    assert [store.get("acme", key) is not None for key in keys] == [False] * 7 + [True] * 8


def test_a_run_creates_two_files_however_many_customers_it_stores(tmp_path: Path) -> None:
    for customers in (1, 2, 300):
        cache = tmp_path / str(customers)
        store = BuildCache(cache)
        for n in range(customers):
            name = f"c{n}"
            store.put(name, build_key(name, "f", "d", {}, "1.37"), BuildResult(name))
        store.flush()
        assert [p.relative_to(cache).parts[0] for p in files(cache)] == ["index.json",
                                                                           "segments"]
        assert len(index(cache)) == customers


def test_the_index_is_read_again_on_flush_only_if_another_run_replaced_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def key(name: str) -> str:
        return build_key(name, "f", "1", {}, "1.37")

    def result(name: str) -> BuildResult:
        return BuildResult(name, [Manifest(name, {"kind": "ConfigMap"}, "c")])

    setup = BuildCache(tmp_path)
    setup.put("acme", key("acme"), result("acme"))
    setup.flush()
    reads: list[Path] = []
    read_index = cachestore._read_index
    monkeypatch.setattr(cachestore, "_read_index",
                        lambda path, version: reads.append(path) or read_index(path, version))
    alone = BuildCache(tmp_path)
    assert alone.get("acme", key("acme")) == result("acme")
    alone.put("globex", key("globex"), result("globex"))
    alone.flush()
    assert len(reads) == 1  # the file it read was still the index: merged from memory
    reader, other = BuildCache(tmp_path), BuildCache(tmp_path)
    assert reader.get("acme", key("acme")) == result("acme")
    other.put("initech", key("initech"), result("initech"))
    other.flush()  # replaces the index `reader` read
    reader.put("umbrella", key("umbrella"), result("umbrella"))
    reader.flush()
    assert len(reads) == 4  # by reader, other's flush, and reader's flush again
    fresh = BuildCache(tmp_path)
    for name in ("acme", "globex", "initech", "umbrella"):
        assert fresh.get(name, key(name)) == result(name), name


def test_runs_flushing_in_turn_keep_each_others_entries(tmp_path: Path) -> None:
    """Two runs at once, each flushing what it stored while the other still works: both
    runs' entries stay readable, in the order they were published."""
    def key(name: str, n: int) -> str:
        return build_key(name, "f", str(n), {}, "1.37")

    def result(name: str, n: int) -> BuildResult:
        return BuildResult(name, [Manifest(name, {"kind": "ConfigMap", "n": n}, "c")])

    first, second = BuildCache(tmp_path), BuildCache(tmp_path)
    first.put("acme", key("acme", 1), result("acme", 1))
    assert second.get("acme", key("acme", 1)) is None  # second read the (empty) index
    second.put("globex", key("globex", 2), result("globex", 2))
    second.put("acme", key("acme", 2), result("acme", 2))
    first.put("globex", key("globex", 1), result("globex", 1))
    first.flush()
    second.put("initech", key("initech", 2), result("initech", 2))
    second.flush()
    first.put("acme", key("acme", 3), result("acme", 3))  # the same objects, a new run
    first.flush()
    fresh = BuildCache(tmp_path)
    for name, n in [("acme", 1), ("acme", 2), ("acme", 3), ("globex", 1), ("globex", 2),
                    ("initech", 2)]:
        assert fresh.get(name, key(name, n)) == result(name, n), (name, n)
    assert [row[0] for row in entries(tmp_path, "acme")] == [
        key("acme", 3), key("acme", 2), key("acme", 1)]
    assert len(list((tmp_path / "segments").iterdir())) == 3


def test_compaction_keeps_dead_space_bounded(tmp_path: Path) -> None:
    """An hour between runs, each storing a new entry for five customers; a sixth was
    stored in the first run only. Each segment the index references (but the newest)
    stays over a quarter live, and every entry kept stays readable."""
    owners = ["a", "b", "c", "d", "e"]

    def key(name: str, run: int) -> str:
        return build_key(name, "f", str(run), {}, "1.37")

    def result(name: str, run: int) -> BuildResult:
        pad = "x" * (100 + 37 * ((run * 7 + ord(name)) % 13))
        return BuildResult(name, [Manifest(name, {"kind": "ConfigMap", "data": pad}, "c")])

    runs = 40
    for run in range(runs):
        store = BuildCache(tmp_path)
        for name in owners + (["z"] if run == 0 else []):
            store.put(name, key(name, run), result(name, run))
        if run:
            age(*(tmp_path / "segments").iterdir())
        store.flush()
        rows = [row for owner_rows in index(tmp_path).values() for row in owner_rows]
        newest = entries(tmp_path, "a")[0][1]
        sizes = {p.name: p.stat().st_size for p in (tmp_path / "segments").iterdir()}
        assert set(sizes) == {row[1] for row in rows}  # no unreferenced file left
        for name, size in sizes.items():
            live = sum(row[3] for row in rows if row[1] == name)
            assert name == newest or 4 * live >= size, (run, name, live, size)
        assert sum(sizes.values()) - sizes[newest] <= 4 * sum(row[3] for row in rows)
    store = BuildCache(tmp_path)
    assert store.get("z", key("z", 0)) == result("z", 0)
    for name in owners:
        for run in range(runs):
            kept = run >= runs - KEEP_PER_CUSTOMER
            assert (store.get(name, key(name, run)) == result(name, run)) is kept


def test_files_of_killed_runs_are_collected_after_an_hour(tmp_path: Path) -> None:
    def key(name: str) -> str:
        return build_key(name, "f", "d", {}, "1.37")

    BuildCache(tmp_path).put("acme", key("acme"), BuildResult("acme"))  # killed: no flush
    [killed] = (tmp_path / "segments").iterdir()
    young = BuildCache(tmp_path)
    young.put("globex", key("globex"), BuildResult("globex"))  # still running
    stray_index = tmp_path / ".index.json.123.456.tmp"  # write_entry's, killed
    stray_index.write_text("{")
    age(killed, stray_index)
    store = BuildCache(tmp_path)
    store.put("initech", key("initech"), BuildResult("initech"))
    store.flush()
    left = {p.name for p in files(tmp_path)}
    assert killed.name not in left and stray_index.name not in left
    assert len(left) == 3  # the index, this run's segment, the running one's temporary file
    young.flush()
    fresh = BuildCache(tmp_path)
    assert fresh.get("acme", key("acme")) is None
    assert fresh.get("globex", key("globex")) == BuildResult("globex")
    assert fresh.get("initech", key("initech")) == BuildResult("initech")


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


def test_a_few_customers_render_without_the_render_cache(platform: Path, cache: Path) -> None:
    """The render cache is read and written whole: not for one changed customer of 40
    (compiler.py), whose files are rendered afresh, as a full compile would write them."""
    for n in range(40):
        (platform / "customers" / f"c{n:02}.yaml").write_text(f"name: c{n:02}\n")
    assert cli("compile", cwd=platform).code == 0
    [renders] = (cache.parent / "renders").glob("*.json")
    before = (renders.read_bytes(), renders.stat().st_mtime_ns)
    (platform / "customers" / "c07.yaml").write_text("name: c07\ntier: large\n")
    result = cli("compile", "--timings", cwd=platform)
    assert result.out.strip() == "compiled 40 customer(s): 1 written, 0 deleted", result.text
    assert (renders.read_bytes(), renders.stat().st_mtime_ns) == before
    values = platform / "gitops/apps/customer-c07/values.yaml"
    assert "replicas: 3" in values.read_text()  # the large tier's
    forget_runs(cache)
    shutil.rmtree(platform / "gitops" / "apps")
    assert cli("compile", cwd=platform).code == 0  # every customer: through the cache
    assert "replicas: 3" in values.read_text()
    assert b"c07" in renders.read_bytes() and renders.read_bytes() != before[0]


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


# --- the config cache (gitops_gen/configcache.py) ------------------------------------

def test_a_config_that_passed_is_read_back_without_the_yaml_and_schema_modules(
        fleet: Path, cache: Path) -> None:
    validate(fleet)
    [entry] = (cache.parent / "configs").glob("*.json")
    assert b'"platform":"lunarfront"' in entry.read_bytes()
    parsers = "ruamel jsonschema"
    assert modules_imported(fleet, parsers, "validate") == "0 []"  # no-op: config memo
    entry.unlink()
    assert modules_imported(fleet, parsers, "validate") == "0 ['jsonschema', 'ruamel']"
    assert [p.name for p in (cache.parent / "configs").glob("*.json")] == [entry.name]


def test_a_validate_after_compile_imports_no_schema_library(fleet: Path) -> None:
    """The pre-commit hook after `compile` or `add`: the specs come from their cache, so
    jsonschema is not needed (~50 ms of imports it paid, through the Kubernetes schemas'
    package, imported for its path alone); a spec the cache has not seen is checked, as
    before."""
    libraries = "jsonschema kubernetes_validate"
    validate(fleet)
    (fleet / "customers" / "acme.yaml").write_text("name: acme\ntier: large\n")
    assert cli("compile", cwd=fleet).code == 0
    assert modules_imported(fleet, libraries, "validate") == "0 []"
    (fleet / "customers" / "acme.yaml").write_text("name: acme\ntier: small\n")
    assert modules_imported(fleet, libraries, "validate") == "1 ['jsonschema']"


def test_a_compile_of_a_few_files_loads_no_c_library_binding(fleet: Path) -> None:
    """ctypes (for the spare file's renameat2, spare.py) is loaded only by a write of
    many files: a compile writing one customer's, or nothing, does without it."""
    assert cli("compile", cwd=fleet).code == 0
    assert modules_imported(fleet, "ctypes", "compile") == "0 []"  # nothing to write
    (fleet / "customers" / "acme.yaml").write_text("name: acme\ntier: large\n")
    assert modules_imported(fleet, "ctypes", "compile") == "0 []"  # a few files


def test_a_broken_config_is_checked_every_time_and_never_remembered(
        fleet: Path, cache: Path) -> None:
    first, _ = validate(fleet)
    config = fleet / "gitops-gen.yaml"
    good = config.read_text()
    config.write_text(good.replace("platform: lunarfront\n", "platform: lunarfront\ncolour: red\n"))
    for _ in range(2):
        result = cli("validate", cwd=fleet)
        assert result.code == 2, result.text
        assert "gitops-gen.yaml:2: <top>: unknown field 'colour'" in result.err
    assert len(list((cache.parent / "configs").glob("*.json"))) == 1
    config.write_text(good)
    again, _ = validate(fleet)
    assert (again.code, again.out) == (first.code, first.out)


def test_a_damaged_config_entry_is_ignored_and_written_again(fleet: Path, cache: Path) -> None:
    first, _ = validate(fleet)
    [entry] = (cache.parent / "configs").glob("*.json")
    header, _, payload = entry.read_bytes().partition(b"\n")
    entry.write_bytes(header + b"\n" + payload.replace(b"lunarfront", b"moonfront"))
    forget_runs(cache)
    again, _ = validate(fleet)
    assert (again.code, again.out) == (first.code, first.out)
    assert b"moonfront" not in entry.read_bytes() and b"lunarfront" in entry.read_bytes()
