"""Hostile input: whatever a spec value holds, it arrives as that value, never as YAML
structure or template code; hostile files are refused in bounded time and memory; no
plaintext secret reaches a generated file, a commit, or an error message; file names that
are not UTF-8, in the tree or above it, are names like any other.

The property tests drive `Renderer` (the unit that renders) directly for speed; the CLI
cases prove the same end to end. The bad-input catalogue is tests/corpus/.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from gitops_gen.commands.add import spec_text
from gitops_gen.errors import InputError
from gitops_gen.platform import load_platform
from gitops_gen.render import Renderer
from gitops_gen.spec import customer_schema, parse_spec
from gitops_gen.yamlemit import dump, json_text
from gitops_gen.yamlio import MAX_DEPTH, parse_mapping, to_plain
from tests.conftest import cli, commit_count, git, tree_state

VALUES = "gitops/apps/customer-acme/values.yaml"
SPEC = "customers/acme.yaml"
# Pieces that mean something to YAML, Jinja2, shells or terminals, or that YAML 1.1
# readers (Go, PyYAML) take as line breaks or byte-order marks.
NASTY = [
    "\n", "\r\n", "\r", ": ", "- ", " #", "#", "{{ 7*7 }}", "{% raw %}", "{%", "{#", "}}",
    "---", "...", "&a ", "*a", "!!python/object:os.system ", "!x ", "? ", "|", ">", "'",
    '"', "\\", "\\n", "\u2028", "\u2029", "\x85", "\ufeff", "\x7f", "\t", "\x1b[31m", "😀",
    "%YAML 1.1", "<<: ", "~", "null", "NO", "on", "y", "0o17", "0755", "1e3", ".inf", "=",
    " ", "$(id)", "${HOME}", "kind: Secret", "[", "]", "{", "}", ",", "@", "`",
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(max_size=6)), min_size=1, max_size=8
).map("".join)
SETTINGS = settings(
    max_examples=300, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def renderer(platform_template: Path) -> Renderer:
    return Renderer(load_platform(platform_template))


class Refused(Exception):
    """The spec was refused with an InputError naming the spec file."""


def rendered(renderer: Renderer, text: str) -> dict[str, list[Any]]:
    """Each generated file of customer acme, parsed (YAML 1.1, as Go reads it); Refused if
    the spec is — which must then be an InputError that names the spec file."""
    try:
        spec = parse_spec(renderer.platform, "acme", text)
    except InputError as exc:
        assert str(exc).startswith(SPEC), str(exc)
        raise Refused(str(exc)) from None
    return {f.path: list(yaml.safe_load_all(f.content)) for f in renderer.render_customer(spec)}


def written_by_add(renderer: Renderer, *assignments: str) -> str:
    """Spec text exactly as `gitops-gen add acme --set …` writes it."""
    return spec_text("acme", assignments, customer_schema(renderer.platform))


@pytest.fixture(scope="module")
def baseline(renderer: Renderer) -> dict[str, Any]:
    """The generated files of a customer with every default; values.yaml's document."""
    files = rendered(renderer, "name: acme\n")
    return {**files, "values": files[VALUES][0]}


def others(files: dict[str, Any]) -> dict[str, Any]:
    return {p: d for p, d in files.items() if p not in (VALUES, "values")}


@SETTINGS
@given(value=hostile_text, key=hostile_text)
@example(value="x\nkind: Secret\n---\nkind: Secret", key="a: b")
@example(value="{{ 7*7 }}{% if true %}x{% endif %}{# c #}", key="{{ 7*7 }}")
@example(value="\u2028😀\x85\ufeff\x7f", key="\x85")
def test_a_value_arrives_as_exactly_that_string(
    renderer: Renderer, baseline: dict[str, Any], value: str, key: str
) -> None:
    """env through `add --set`; a key and value under `values:` JSON-quoted by hand."""
    text = written_by_add(renderer, f"env.NOTE={value}")
    text += f"values:\n  extra: {{{json_text(key)}: {json_text(value)}}}\n"
    try:
        files = rendered(renderer, text)
    except Refused as refused:  # only what must be refused: NULs and secret look-alikes
        assert "\0" in value + key or "looks like a plaintext secret" in str(refused)
        return
    [values] = files[VALUES]  # one document: nothing was injected after a `---`
    # the very string: `{{ 7*7 }}` was not evaluated, `\n` and U+2028 not folded
    assert values["env"] == {**baseline["values"]["env"], "NOTE": value}
    assert values["extra"] == {key: value}
    assert set(values) == {*baseline["values"], "extra"}  # no key was added
    assert others(files) == others(baseline)


@SETTINGS
@given(value=hostile_text)
@example(value="x\n  kind: Secret")
@example(value="{a: 1}\nkind: Secret")
@example(value="&a [1]\nother: *a")
def test_a_hand_typed_value_never_changes_the_generated_structure(
    renderer: Renderer, baseline: dict[str, Any], value: str
) -> None:
    """A value typed into the spec as is, unquoted: YAML may read it as something else
    or refuse it; either way the generated files hold exactly what the spec says."""
    text = f"name: acme\nenv:\n  NOTE: {value}\n"
    try:
        files = rendered(renderer, text)
    except Refused:
        return
    spec = parse_spec(renderer.platform, "acme", text)
    [values] = files[VALUES]
    assert values["env"] == {**baseline["values"]["env"], **spec.data["env"]}
    assert set(values) == set(baseline["values"])
    assert others(files) == others(baseline)


@SETTINGS
@given(value=hostile_text)
@example(value="acme\nkind: Secret")
def test_a_subdomain_is_a_dns_label_or_refused(renderer: Renderer, value: str) -> None:
    try:
        files = rendered(renderer, written_by_add(renderer, f"subdomain={value}"))
    except Refused:
        return
    [values] = files[VALUES]
    assert values["host"] == f"{value}.app.lunarfront.tech"
    assert value.replace("-", "").isalnum() and value.isascii()


@SETTINGS
@given(value=hostile_text)
@example(value="[" * 5000)
@example(value="- " * 5000)
@example(value="\x85")
def test_set_takes_a_string_field_as_written_and_never_adds_structure(
    renderer: Renderer, value: str
) -> None:
    text = written_by_add(renderer, f"env.NOTE={value}", f"values.note={value}")
    if "\0" in value:
        with pytest.raises(InputError, match="contains a NUL character"):
            parse_mapping(text, SPEC)
        return
    data = to_plain(parse_mapping(text, SPEC).data)
    assert data["env"]["NOTE"] == value
    assert not isinstance(data["values"]["note"], dict | list)


@SETTINGS
@given(kinds=st.lists(st.sampled_from(["mapping", "sequence"]), max_size=50),
       flow=st.sampled_from([None, True, False]))
def test_nesting_is_refused_past_the_limit_in_every_style(kinds: list[str],
                                                          flow: bool | None) -> None:
    """The loader skips its event scan for text that cannot nest deep (yamlio's
    `_may_hide_anything`): whichever way the nesting is written, the limit still holds."""
    node: Any = "x"
    for kind in reversed(kinds):
        node = {"k": node} if kind == "mapping" else [node]
    yaml_rt = YAML()
    yaml_rt.default_flow_style = flow
    buffer = io.StringIO()
    yaml_rt.dump({"v": node}, buffer)
    depth = len(kinds) + 1  # and the top-level mapping
    if depth > MAX_DEPTH:
        with pytest.raises(InputError, match="nested more than 32 levels deep"):
            parse_mapping(buffer.getvalue(), SPEC)
    else:
        assert to_plain(parse_mapping(buffer.getvalue(), SPEC).data) == {"v": node}


def test_hostile_values_through_add_are_committed_as_data(platform_copy: Path) -> None:
    payload = "x\nkind: Secret\n---\n{{ 7*7 }} {% raw %} \u2028😀 &a *a !!str"
    result = cli("add", "acme", "--set", f"env.NOTE={payload}",
                 "--set", "values.probes.initialDelaySeconds=7", cwd=platform_copy)
    assert result.code == 0, result.text
    docs = list(yaml.safe_load_all(git("show", f"HEAD:{VALUES}", cwd=platform_copy)))
    assert len(docs) == 1
    assert docs[0]["env"]["NOTE"] == payload
    assert docs[0]["probes"]["initialDelaySeconds"] == 7
    assert "49" not in (platform_copy / VALUES).read_text()


def test_special_floats_and_keys_keep_their_meaning() -> None:
    """`.inf` and `1e16` stay floats for YAML 1.1 readers (JSON's `Infinity` and `1e+16`
    are strings there); `true:` stays the key "true", not Python's "True"."""
    floats = {"a": float("inf"), "b": float("-inf"), "c": 1e16, "d": 1e-5, "e": 0.5}
    assert yaml.safe_load(dump(floats)) == floats
    assert dump({"x": float("nan")}) == "x: .nan\n"
    assert to_plain(parse_mapping("true: 1\nnull: 2\n3: 3\n", "x.yaml").data) == {
        "true": 1, "null": 2, "3": 3}


def dense(lines: int) -> str:
    """As many YAML nodes per byte as a spec gets: 3,170 lines are just under 64 KiB."""
    return "name: acme\nvalues:\n" + "".join(f"  k{i}: [1, {{a: b}}]\n" for i in range(lines))


@pytest.mark.parametrize(
    ("content", "code", "fragment"),
    [
        # a billion "lol"s if expanded
        ("name: acme\nv: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
            f"v{i}: &a{i} [{','.join([f'*a{i - 1}' if i > 1 else '*a'] * 10)}]\n"
            for i in range(1, 10)), 2, "anchors and aliases are not allowed"),
        ("name: acme\nvalues: " + "[" * 60_000, 2, "nested more than 32 levels deep"),
        ("name: acme\nvalues: " + "{a: " * 15_000, 2, "nested more than 32 levels deep"),
        ("name: acme\n" + "#" * 10_000_000, 2, "more than the 65536 allowed"),
        (dense(6000), 2, "more than the 65536 allowed"),
        # the worst a file may be: just under the limit, as dense as YAML gets
        (dense(3170), 0, "compiled 1 customer(s)"),
    ],
    ids=["billion-laughs", "deep-sequences", "deep-mappings", "10mb", "wide", "at-the-limit"],
)
def test_hostile_files_cost_bounded_time_and_memory(
    platform_copy: Path, cache: Path, content: str, code: int, fragment: str
) -> None:
    # `cache`: a cache of this test's own, so that what is measured is this file's cost,
    # not that of loading what other tests left in a shared one
    (platform_copy / SPEC).write_text(content)
    # A fresh interpreter measures the run's own peak memory (RUSAGE_CHILDREN of it).
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "p = subprocess.run([sys.executable, '-m', 'gitops_gen', 'compile'],"
        " capture_output=True, text=True)\n"
        "print(p.returncode, time.monotonic() - t,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(p.stdout, p.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=platform_copy, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    exit_code, seconds, max_kib = out.splitlines()[0].split()
    assert int(exit_code) == code, out
    assert fragment in out
    assert "Traceback" not in out and "internal error" not in out
    assert float(seconds) < 10
    assert int(max_kib) < 150_000  # a bare `gitops-gen list` peaks at ~35 MB


PLANTED = {
    "env.DB_PASSWORD=planted-Pa55word": "planted-Pa55word",
    "env.DATABASE_URL=postgres://app:planted-url-pw@db:5432/app": "planted-url-pw",
    "values.smtp.apiKey=planted-api-key": "planted-api-key",
    "env.TLS_KEY=-----BEGIN PRIVATE KEY-----planted-pem": "planted-pem",
}


@pytest.mark.parametrize("assignment", list(PLANTED), ids=list(PLANTED.values()))
def test_a_plaintext_secret_reaches_no_file_no_commit_no_message(
    platform_copy: Path, assignment: str
) -> None:
    planted = PLANTED[assignment]
    before = tree_state(platform_copy)
    result = cli("add", "acme", "--set", assignment, cwd=platform_copy)
    assert result.code == 2
    assert "looks like a plaintext secret" in result.err
    assert planted not in result.text
    assert tree_state(platform_copy) == before
    everything = git("log", "--all", "-p", "--format=%B", cwd=platform_copy)
    assert planted not in everything
    assert not any(planted.encode() in p.read_bytes()
                   for p in platform_copy.rglob("*") if p.is_file())


SECRET_TEMPLATE = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-leak
type: Opaque
data:
  password: cGxhbnRlZC1iYXNlNjQ=
stringData:
  token: planted-string-data
"""


def test_a_secret_with_data_in_the_built_tree_is_a_finding(platform_copy: Path) -> None:
    assert cli("add", "acme", cwd=platform_copy).code == 0
    (platform_copy / "gitops/chart/templates/secret.yaml").write_text(SECRET_TEMPLATE)
    before = tree_state(platform_copy)
    result = cli("validate", cwd=platform_copy)
    assert result.code == 1, result.text
    assert "policy/secret-data" in result.out
    assert "Secret/customer-acme/acme-leak" in result.out
    assert "data keys: password" in result.out and "stringData keys: token" in result.out
    assert "cGxhbnRlZC1iYXNlNjQ=" not in result.text
    assert "planted-string-data" not in result.text
    assert tree_state(platform_copy) == before
    # and nothing can commit it: add of another customer validates the same tree
    commits = commit_count(platform_copy)
    assert cli("add", "globex", cwd=platform_copy).code == 1
    assert commit_count(platform_copy) == commits


def test_files_named_in_no_encoding_are_files_like_any_other(platform_copy: Path) -> None:
    """A name that is not UTF-8 (any bytes but `/` and NUL make a Linux file name) comes
    from `os` with surrogates standing for its bytes; the tree's stat digests and the
    build cache's keys hash it as those bytes (they once raised UnicodeEncodeError)."""
    root = platform_copy
    assert cli("add", "acme", cwd=root).code == 0
    for stray in (b"notes-\xff.txt", b"gitops/apps/customer-acme/\xfe\xff.yaml"):
        (root / os.fsdecode(stray)).write_bytes(b"a: 1\n")
    # one that looks generated: a finding names it, escaped byte by byte (where stdout
    # would refuse it: a UTF-8 locale) and as JSON's escapes in JSON
    orphan = "gitops/apps/customer-acme/" + os.fsdecode(b"v\xff.yaml")
    (root / orphan).write_bytes((root / VALUES).read_bytes())
    utf8 = {"LC_ALL": "C.UTF-8"}
    text, as_json = cli("validate", cwd=root, env=utf8), cli(
        "validate", "--format", "json", cwd=root, env=utf8)
    assert (text.code, as_json.code) == (1, 1), text.text + as_json.text
    assert "gitops/apps/customer-acme/v\\xff.yaml: acme: drift:" in text.out
    assert [f["file"] for f in json.loads(as_json.out)["findings"]] == [orphan]
    junit = cli("validate", "--format", "junit", cwd=root, env=utf8)
    assert junit.code == 1 and 'file="gitops/apps/customer-acme/v\\xff.yaml"' in junit.out
    assert "1 deleted" in cli("compile", cwd=root).out
    first, again = cli("validate", cwd=root), cli("validate", cwd=root)
    assert (first.code, again.code) == (0, 0), first.text + again.text
    assert first.out == again.out == cli("validate", "--no-cache", cwd=root).out
    assert "0 written" in cli("compile", cwd=root).out
    commits = commit_count(root)
    bumped = cli("bump-image", "1.2.3", cwd=root)
    assert bumped.code == 0, bumped.text
    assert commit_count(root) == commits + 1
    assert sorted(git("status", "--porcelain", cwd=root).splitlines()) == [  # left alone
        '?? "gitops/apps/customer-acme/\\376\\377.yaml"', '?? "notes-\\377.txt"']


def test_a_platform_in_a_directory_named_in_no_encoding_works(platform_copy: Path) -> None:
    """The repository's own path reaches git and the lock as bytes, and comes back so."""
    root = platform_copy.rename(platform_copy.with_name(os.fsdecode(b"platform-\xff")))
    for args in (["add", "acme"], ["validate"], ["validate"], ["compile"],
                 ["bump-image", "1.2.3"], ["remove", "acme", "--force"]):
        result = cli(*args, cwd=root)
        assert result.code == 0, (args, result.text)
        if args == ["compile"]:  # kustomize's message names the overlay by its path
            overlay = root / "gitops/apps/customer-acme/kustomization.yaml"
            kept = overlay.read_bytes()
            overlay.write_bytes(kept + b"  - missing.yaml\n")
            broken = cli("validate", cwd=root)
            assert broken.code == 1 and ("gitops/apps/customer-acme/kustomization.yaml: "
                                         "acme: build: ") in broken.out, broken.text
            overlay.write_bytes(kept)
    assert commit_count(root) == 4  # the scaffold, add, bump, remove
    assert git("status", "--porcelain", cwd=root) == ""


def test_a_template_that_is_not_utf8_is_an_input_error(platform_copy: Path) -> None:
    root = platform_copy
    assert cli("add", "acme", cwd=root).code == 0
    template = root / "templates" / "namespace.yaml.j2"
    template.write_bytes(template.read_bytes() + b"{# caf\xe9 #}\n")
    before = tree_state(root)
    lines = template.read_bytes().count(b"\n")
    for command in ("compile", "validate"):
        result = cli(command, cwd=root)
        assert result.code == 2, result.text
        assert f"templates/namespace.yaml.j2:{lines}: not valid UTF-8" in result.err
    assert tree_state(root) == before


def test_special_files_never_stall_a_run_and_a_directory_is_never_written_over(
    platform_copy: Path,
) -> None:
    """A FIFO blocks whoever opens it until a writer comes: one beside a customer's
    generated files once held `validate` (the pre-commit hook) forever, in the build
    inputs' digest; and a directory where a generated file belongs made `compile` an
    internal error."""
    root = platform_copy
    assert cli("add", "acme", cwd=root).code == 0
    overlay = root / "gitops/apps/customer-acme"
    os.mkfifo(overlay / "extra.fifo")
    os.mkfifo(root / "notes.fifo")
    # stamped in the future: "racy" to the tree's stat digests, which then read a file
    os.utime(root / "notes.fifo", (time.time() + 3600,) * 2)
    for _ in range(2):  # the second from the run memo, stating the tree
        assert cli("validate", cwd=root).code == 0
    values = overlay / "values.yaml"
    kept = values.read_bytes()
    values.unlink()
    os.mkfifo(values)
    fifo = cli("validate", cwd=root)
    assert fifo.code == 1 and "values.yaml: acme: drift: not a regular file" in fifo.out
    assert "1 written" in cli("compile", cwd=root).out and values.read_bytes() == kept
    values.unlink()
    values.mkdir()
    before = tree_state(root)
    directory = cli("validate", cwd=root)
    assert directory.code == 1, directory.text
    assert "values.yaml: acme: drift: a directory where this generated file belongs" in (
        directory.out)
    refused = cli("compile", cwd=root)
    assert refused.code == 2 and "values.yaml is a directory where a file is to be written" in (
        refused.err)
    assert tree_state(root) == before and values.is_dir()


def test_a_symlink_where_a_generated_file_belongs_is_drift_never_read_and_kept_on_failure(
    platform_copy: Path, tmp_path: Path,
) -> None:
    """A generated file replaced by a symlink to a file outside the repository (a hostile
    pull request, validated in CI) had its target's first lines quoted in the drift
    finding's diff; a link to a file holding exactly the generated bytes passed as no
    drift; and a command that failed after writing the link's path left a regular file
    where the link was, saying "nothing changed"."""
    root = platform_copy
    assert cli("add", "acme", cwd=root).code == 0
    secret = tmp_path / "outside.txt"
    secret.write_text("password: hunter2\n")
    values = root / VALUES
    generated = values.read_bytes()
    argocd = root / "gitops/argocd/customer-acme.yaml"
    values.unlink()
    values.symlink_to(secret)
    argocd.unlink()
    argocd.symlink_to(secret)
    leaked = cli("validate", cwd=root)
    assert leaked.code == 1, leaked.text
    assert "hunter2" not in leaked.text
    for rel in (VALUES, "gitops/argocd/customer-acme.yaml"):
        assert f"{rel}: acme: drift: a symlink where this generated file belongs" in leaked.out
        assert f"{rel}: acme: yaml: a symlink that resolves outside the repository" in leaked.out
    assert "2 written" in cli("compile", cwd=root).out
    assert not values.is_symlink() and values.read_bytes() == generated
    assert secret.read_text() == "password: hunter2\n"
    # a link to the very bytes compile writes, committed: drift all the same
    twin = tmp_path / "twin.yaml"
    twin.write_bytes(generated)
    values.unlink()
    values.symlink_to(twin)
    chart = root / "gitops/chart/templates/deployment.yaml"
    chart.write_text('{{- if eq .Values.image.tag "9.9.9" }}{{ fail "9.9.9 is banned" }}'
                     "{{ end }}\n" + chart.read_text())
    git("commit", "-qam", "a link, and a banned tag", cwd=root)
    linked = cli("validate", cwd=root)
    assert linked.code == 1 and f"{VALUES}: acme: drift: a symlink" in linked.out
    before = tree_state(root)
    failed = cli("bump-image", "9.9.9", "--customer", "acme", cwd=root)
    assert failed.code == 1 and "9.9.9 is banned" in failed.out, failed.text
    assert values.is_symlink() and os.readlink(values) == str(twin)
    assert tree_state(root) == before


@pytest.mark.parametrize("args", [["validate"], ["add", "acme"], ["init", "p"]])
def test_a_working_directory_deleted_under_the_shell_is_an_input_error(
    tmp_path: Path, args: list[str]
) -> None:
    """`rm -rf` of the directory a shell is in, then a command there: an internal error
    (FileNotFoundError from resolving "."); now exit 2, saying what happened."""
    gone = tmp_path / "gone"
    gone.mkdir()
    script = 'rmdir "$PWD" && exec "$0" -m gitops_gen "$@"'
    proc = subprocess.run(["sh", "-c", script, sys.executable, *args], cwd=gone,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "the current directory no longer exists" in proc.stderr
    assert "internal error" not in proc.stderr and not gone.exists()


def test_a_file_where_a_generated_directory_belongs_is_named_not_an_internal_error(
    platform_copy: Path,
) -> None:
    """A file at gitops/apps/customer-acme (where the customer's directory belongs): the
    drift check said "missing: compile would create it", and compile was an internal
    error (FileExistsError from mkdir)."""
    root = platform_copy
    (root / "customers/acme.yaml").write_text("name: acme\n")
    (root / "gitops/apps").mkdir(parents=True, exist_ok=True)
    (root / "gitops/apps/customer-acme").write_text("notes, not a directory\n")
    found = cli("validate", cwd=root)
    assert found.code == 1, found.text
    assert (f"{VALUES}: acme: drift: missing, and gitops/apps/customer-acme is a file where "
            "its directory belongs: move it away") in found.out
    before = tree_state(root)
    refused = cli("compile", cwd=root)
    assert refused.code == 2, refused.text
    assert "gitops/apps/customer-acme is a file where a directory is to hold" in refused.err
    assert tree_state(root) == before


def test_a_write_that_fails_midway_puts_back_what_it_wrote(platform_copy: Path) -> None:
    """Any OSError while writing (a full disk, a read-only file system) was an internal
    error; here the temporary file of one write is a directory, so that write fails after
    others succeeded: exit 2 naming the file, and the tree as before."""
    root = platform_copy
    assert cli("add", "acme", cwd=root).code == 0
    (root / "customers/acme.yaml").write_text("name: acme\ntier: large\n")
    (root / "gitops/apps/customer-acme/.values.yaml.gitops-gen-tmp").mkdir()
    before = tree_state(root)
    failed = cli("compile", cwd=root)
    assert failed.code == 2, failed.text
    assert f"cannot write {VALUES}: Is a directory; the files written before it were put " \
        "back" in failed.err
    assert tree_state(root) == before
