"""bump-image through the CLI: real git, a bare "remote" and two clones racing."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import cli, commit_count, commit_files, git, tree_state


def values(root: Path, name: str) -> dict[str, object]:
    text = (root / f"gitops/apps/customer-{name}/values.yaml").read_text()
    loaded: dict[str, object] = yaml.safe_load(text)
    return loaded


def image_tag(root: Path, name: str) -> str:
    image = values(root, name)["image"]
    assert isinstance(image, dict)
    return str(image["tag"])


@pytest.fixture
def fleet(platform: Path) -> Path:
    """acme follows the fleet tag, globex is pinned, initech sets its own (unpinned) tag."""
    assert cli("add", "acme", cwd=platform).code == 0
    assert cli("add", "globex", "--set", "image.tag=0.9.0", "--set", "image.pinned=true",
               cwd=platform).code == 0
    spec = "# Initech: keep this comment\nname: initech\nimage:\n  tag: '1.0.0'  # own tag\n"
    (platform / "customers/initech.yaml").write_text(spec)
    assert cli("compile", cwd=platform).code == 0
    git("add", "-A", cwd=platform)
    git("commit", "-qm", "Add initech", cwd=platform)
    return platform


def test_bump_moves_unpinned_customers_in_one_commit(fleet: Path) -> None:
    before = commit_count(fleet)
    result = cli("bump-image", "1.4.2", cwd=fleet)
    assert result.code == 0, result.text
    assert commit_count(fleet) == before + 1
    assert commit_files(fleet) == [
        "customers/initech.yaml",
        "gitops-gen.yaml",
        "gitops/apps/customer-acme/values.yaml",
        "gitops/apps/customer-initech/values.yaml",
    ]
    assert (image_tag(fleet, "acme"), image_tag(fleet, "globex"),
            image_tag(fleet, "initech")) == ("1.4.2", "0.9.0", "1.4.2")
    assert git("log", "-1", "--format=%s", cwd=fleet).strip() == \
        "Bump image to 1.4.2 for acme, initech"


# Runs the CLI in one process and prints its exit code, then how many times each spec
# file was opened (an audit hook sees every open, whoever makes it).
_SPEC_OPENS = """
import collections, os, sys
opened = collections.Counter()
def hook(event, args):
    if (event == "open" and isinstance(args[0], str) and "/customers/" in args[0]
            and args[0].endswith(".yaml")):
        opened[os.path.basename(args[0])] += 1
sys.addaudithook(hook)
from gitops_gen.cli import main  # not the process entry, which ends the process at once
code = main(sys.argv[1:])
print(code, dict(sorted(opened.items())))
"""


def test_bump_reads_each_spec_it_does_not_edit_once(fleet: Path) -> None:
    """The plan reads every spec; the compile with the new tag and the check of the tree
    it wrote take what the plan read (an edited spec: what it wrote) instead of reading
    10,000 files twice more."""
    proc = subprocess.run([sys.executable, "-c", _SPEC_OPENS, "bump-image", "1.4.2"],
                          cwd=fleet, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    code, opened = proc.stdout.strip().splitlines()[-1].split(" ", 1)
    assert code == "0", proc.stdout + proc.stderr
    # initech sets its own tag: read to plan, to edit its line, and by the snapshot that
    # puts it back if the check fails
    assert opened == "{'acme.yaml': 1, 'globex.yaml': 1, 'initech.yaml': 3}"
    assert image_tag(fleet, "acme") == "1.4.2"


def test_timings_name_every_stage_on_stderr_only(fleet: Path) -> None:
    plain = cli("bump-image", "1.4.2", "--no-commit", cwd=fleet)
    git("checkout", "-q", "--", ".", cwd=fleet)
    timed = cli("bump-image", "1.4.2", "--timings", cwd=fleet)
    assert (plain.code, timed.code) == (0, 0), timed.text
    assert timed.out.split(":")[0] == plain.out.split(":")[0]  # the same summary
    stages = [line.split()[0] for line in timed.err.splitlines()]
    assert stages == ["plan", "compile", "write", "validate", "commit", "total"], timed.err
    validate_line = next(line for line in timed.err.splitlines() if line.startswith("validate"))
    assert all(f"{stage} " in validate_line for stage in ("specs", "drift", "build", "policy"))
    compile_line = next(line for line in timed.err.splitlines() if line.startswith("compile"))
    assert all(f"{stage} " in compile_line for stage in ("specs", "render", "diff"))
    assert "--timings" in cli("bump-image", "--help", cwd=fleet).out


def test_the_check_before_a_commit_reports_its_build_progress(fleet: Path, cache: Path) -> None:
    """What bump-image hands validate's progress bar on a terminal (progress.py, which
    draws nothing elsewhere): the build's count of apps done, up to all of them (an
    empty build cache here: every app is built)."""
    from gitops_gen.platform import load_platform
    from gitops_gen.validate import validator_for_commands

    seen: list[tuple[int, int]] = []
    check = validator_for_commands(load_platform(fleet), ["acme", "globex", "initech"],
                                   progress=lambda done, total: seen.append((done, total)))
    assert check() == []
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_bump_changes_only_tag_lines_and_keeps_comments(fleet: Path) -> None:
    assert cli("bump-image", "1.4.2", cwd=fleet).code == 0
    spec = (fleet / "customers/initech.yaml").read_text()
    expected = '# Initech: keep this comment\nname: initech\nimage:\n  tag: "1.4.2"  # own tag\n'
    assert spec == expected
    diff = git("diff", "HEAD~1", "HEAD", "--unified=0", "--", "gitops-gen.yaml", cwd=fleet)
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == ['-  tag: "1.0.0"', '+  tag: "1.4.2"']
    assert "# The fleet's current tag" in (fleet / "gitops-gen.yaml").read_text()


def test_bump_keeps_a_windows_spec_windows(fleet: Path) -> None:
    """A spec saved with CRLF line breaks (and a byte-order mark) was rewritten with LF on
    every line by a bump, the tag line's edit and an added tag alike: a commit changing
    the whole file. Only the tag lines change now, in the file's own style."""
    specs = {
        "winco": b"\xef\xbb\xbf# owner: team-b\r\nname: winco\r\ntier: standard  # cheap\r\n",
        "wintag": b"# owner: team-a\r\nname: wintag\r\nimage:\r\n  tag: '1.0.0'  # own\r\n",
    }
    for name, spec in specs.items():
        (fleet / f"customers/{name}.yaml").write_bytes(spec)
    assert cli("compile", cwd=fleet).code == 0
    git("add", "-A", cwd=fleet)
    git("commit", "-qm", "Windows specs", cwd=fleet)
    bumped = cli("bump-image", "3.0.0", "--customer", "winco", "--customer", "wintag", cwd=fleet)
    assert bumped.code == 0, bumped.text
    assert (fleet / "customers/winco.yaml").read_bytes() == (
        specs["winco"] + b"image:\r\n  tag: 3.0.0\r\n")
    assert (fleet / "customers/wintag.yaml").read_bytes() == (
        specs["wintag"].replace(b"'1.0.0'", b'"3.0.0"'))
    assert image_tag(fleet, "winco") == image_tag(fleet, "wintag") == "3.0.0"


def test_a_spec_that_is_a_symlink_is_not_edited_through_or_over(fleet: Path) -> None:
    """A spec linked to a file elsewhere in the repo (shared between platforms, say) with
    its own tag: the bump replaced the link with a file. It is refused now, naming the
    link; a linked spec that follows the fleet tag needs no edit and stays a link."""
    (fleet / "shared").mkdir()
    (fleet / "shared/own.yaml").write_text("name: own\nimage:\n  tag: '1.0.0'\n")
    (fleet / "shared/follows.yaml").write_text("name: follows\n")
    for name in ("own", "follows"):
        (fleet / f"customers/{name}.yaml").symlink_to(f"../shared/{name}.yaml")
    assert cli("compile", cwd=fleet).code == 0
    git("add", "-A", cwd=fleet)
    git("commit", "-qm", "Linked specs", cwd=fleet)
    before = tree_state(fleet)
    for args in (["2.0.0"], ["2.0.0", "--customer", "own"], ["2.0.0", "--customer", "follows"]):
        refused = cli("bump-image", *args, cwd=fleet)
        assert refused.code == 2, refused.text
        assert "is a symlink (to ../shared/" in refused.err
        assert tree_state(fleet) == before
    (fleet / "customers/own.yaml").unlink()
    (fleet / "customers/own.yaml").write_text("name: own\n")
    git("commit", "-qam", "own follows the fleet too", cwd=fleet)
    assert cli("bump-image", "2.0.0", cwd=fleet).code == 0
    assert (fleet / "customers/follows.yaml").is_symlink()
    assert image_tag(fleet, "follows") == "2.0.0"


def test_repeat_bump_is_nothing_to_do(fleet: Path) -> None:
    assert cli("bump-image", "1.4.2", cwd=fleet).code == 0
    state = tree_state(fleet)
    result = cli("bump-image", "1.4.2", cwd=fleet)
    assert result.code == 0
    assert "nothing to do" in result.out
    assert tree_state(fleet) == state


@pytest.mark.parametrize(
    ("tag", "fragment"),
    [("latest", "'latest' is refused"), ("a b", "not a valid tag"),
     ("v" * 130, "at most 128"), ("", "image tag is empty"), ("-x", "not a valid tag"),
     ("sha256:abc", "not a valid tag")],
)
def test_bad_tags_change_nothing(fleet: Path, tag: str, fragment: str) -> None:
    state = tree_state(fleet)
    result = cli("bump-image", "--", tag, cwd=fleet)
    assert result.code == 2
    assert fragment in result.err
    assert tree_state(fleet) == state


def test_digest_is_a_valid_tag(fleet: Path) -> None:
    digest = "sha256:" + "ab" * 32
    assert cli("bump-image", digest, "--customer", "acme", cwd=fleet).code == 0
    assert image_tag(fleet, "acme") == digest


def test_naming_a_pinned_customer_moves_it_and_says_so(fleet: Path) -> None:
    result = cli("bump-image", "2.0.0", "--customer", "globex", cwd=fleet)
    assert result.code == 0, result.text
    assert "globex is pinned; moved to 2.0.0" in result.err
    assert commit_files(fleet) == ["customers/globex.yaml",
                                   "gitops/apps/customer-globex/values.yaml"]
    assert image_tag(fleet, "globex") == "2.0.0"
    assert image_tag(fleet, "acme") == "1.0.0"
    assert "pinned: true" in (fleet / "customers/globex.yaml").read_text()


def test_unknown_customer_is_refused(fleet: Path) -> None:
    state = tree_state(fleet)
    result = cli("bump-image", "2.0.0", "--customer", "nobody", cwd=fleet)
    assert result.code == 2 and "unknown customer(s): nobody" in result.err
    assert tree_state(fleet) == state


# --- --push against a bare remote --------------------------------------------------


@pytest.fixture
def remote(fleet: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(fleet), str(bare), cwd=tmp_path)
    return bare


def clone(remote: Path, where: Path, *flags: str) -> Path:
    git("clone", "-q", *flags, f"file://{remote}", str(where), cwd=where.parent)
    return where


def remote_head(remote: Path) -> str:
    return git("rev-parse", "main", cwd=remote).strip()


def test_push_replays_onto_a_remote_that_moved(remote: Path, tmp_path: Path) -> None:
    a = clone(remote, tmp_path / "a")
    b = clone(remote, tmp_path / "b")
    assert cli("add", "hooli", cwd=a).code == 0  # an unrelated customer, pushed first
    git("push", "-q", "origin", "main", cwd=a)
    theirs = remote_head(remote)
    result = cli("bump-image", "3.0.0", "--push", "--timings", cwd=b)
    assert result.code == 0, result.text
    assert "after 1 replay(s)" in result.out
    stages = [line.split()[0] for line in result.err.splitlines()]
    assert stages == ["plan", "compile", "write", "validate", "commit", "push", "total"]
    # both changes landed: A's commit is an ancestor of the bump, nothing force-pushed
    git("merge-base", "--is-ancestor", theirs, remote_head(remote), cwd=remote)
    check = clone(remote, tmp_path / "check")
    assert image_tag(check, "hooli") == "3.0.0"  # A's new customer is in the fleet too
    assert image_tag(check, "acme") == "3.0.0"
    assert image_tag(check, "globex") == "0.9.0"
    assert cli("validate", cwd=check).code == 0
    assert git("log", "-1", "--format=%s", cwd=check).strip().startswith("Bump image to 3.0.0")


def test_push_conflict_leaves_remote_and_local_untouched(remote: Path, tmp_path: Path) -> None:
    a = clone(remote, tmp_path / "a")
    b = clone(remote, tmp_path / "b")
    spec = a / "customers/initech.yaml"
    spec.write_text(spec.read_text().replace("'1.0.0'", "'1.1.0-hotfix'"))
    assert cli("compile", cwd=a).code == 0
    git("commit", "-qam", "Hotfix initech", cwd=a)
    git("push", "-q", "origin", "main", cwd=a)
    theirs = remote_head(remote)
    state = tree_state(b)
    result = cli("bump-image", "3.0.0", "--push", cwd=b)
    assert result.code == 1, result.text
    assert "conflict: customers/initech.yaml was changed on origin/main too" in result.out
    assert remote_head(remote) == theirs
    after = tree_state(b)
    assert after == state


def test_push_from_a_shallow_clone(remote: Path, tmp_path: Path) -> None:
    b = clone(remote, tmp_path / "b", "--depth", "1")
    result = cli("bump-image", "3.0.0", "--push", cwd=b)
    assert result.code == 0, result.text
    assert remote_head(remote) == git("rev-parse", "HEAD", cwd=b).strip()


def test_push_from_detached_head_is_refused(remote: Path, tmp_path: Path) -> None:
    b = clone(remote, tmp_path / "b")
    git("checkout", "-q", "--detach", "HEAD", cwd=b)
    state = tree_state(b)
    result = cli("bump-image", "3.0.0", "--push", cwd=b)
    assert result.code == 2
    assert "detached HEAD" in result.err
    assert tree_state(b) == state


def test_push_without_upstream_is_refused(fleet: Path) -> None:
    state = tree_state(fleet)
    result = cli("bump-image", "3.0.0", "--push", cwd=fleet)
    assert result.code == 2
    assert "no upstream" in result.err
    assert tree_state(fleet) == state


def test_push_with_no_commit_is_a_usage_error(fleet: Path) -> None:
    result = cli("bump-image", "3.0.0", "--push", "--no-commit", cwd=fleet)
    assert result.code == 2 and "--push needs a commit" in result.err


# --- the check between writing and committing ---------------------------------------

# A chart template whose object is invalid (ConfigMap data must be strings) with one tag.
_BAD_WITH_666 = """{{- if eq (toString .Values.image.tag) "6.6.6" }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
data:
  answer: 42
{{- end }}
"""


def _break_tag_666(fleet: Path) -> None:
    (fleet / "gitops/chart/templates/broken.yaml").write_text(_BAD_WITH_666)
    git("add", "-A", cwd=fleet)
    git("commit", "-qm", "A chart that breaks with 6.6.6", cwd=fleet)


def test_a_bump_whose_build_breaks_is_refused_and_changes_nothing(fleet: Path,
                                                                   cache: Path) -> None:
    """bump-image checks the files it wrote (not what the tree held before) without
    compiling them a second time: the new tag's build is what fails."""
    _break_tag_666(fleet)
    assert cli("validate", cwd=fleet).code == 0
    state = tree_state(fleet)
    result = cli("bump-image", "6.6.6", cwd=fleet)
    assert result.code == 1, result.text
    assert "broken" in result.text and "acme" in result.text and "initech" in result.text
    assert "globex" not in result.text  # pinned: not moved, not checked
    assert tree_state(fleet) == state


def test_the_written_files_stand_for_compile_in_the_drift_check(fleet: Path,
                                                                cache: Path) -> None:
    """`ValidateOptions.written` (what bump-image wrote) gives the report a full
    validate of the same customers gives, on a tree that holds those files."""
    from gitops_gen.compiler import plan_compile
    from gitops_gen.platform import load_platform
    from gitops_gen.validate import ValidateOptions, Written, validate_tree

    _break_tag_666(fleet)
    config = fleet / "gitops-gen.yaml"
    config.write_text(config.read_text().replace('tag: "1.0.0"', 'tag: "6.6.6"'))
    assert cli("compile", cwd=fleet).code == 0
    platform = load_platform(fleet)
    plan = plan_compile(platform)
    written = Written(plan.wanted, {spec.name: spec.data for spec in plan.specs})
    assert any(f.customer == "globex" for f in written.files.values())  # everyone's files
    customers = ["acme", "initech"]
    full = validate_tree(platform, customers, ValidateOptions(cache=False))
    taken = validate_tree(platform, customers, ValidateOptions(cache=False, written=written))
    assert {f.customer for f in full.findings} == {"acme"}  # initech keeps its own tag
    assert (taken.findings, taken.objects, taken.customers, taken.build.applications) == (
        full.findings, full.objects, full.customers, full.build.applications)


@pytest.fixture
def many(platform_copy: Path, cache: Path) -> Path:
    """110 customers, committed: a bump writes 111 files, over gitrepo.PACK_AHEAD_FROM."""
    root = platform_copy
    for n in range(110):
        (root / f"customers/c{n:03d}.yaml").write_text(f"name: c{n:03d}\n")
    assert cli("compile", cwd=root).code == 0
    git("add", "-A", cwd=root)
    git("commit", "-qm", "110 customers", cwd=root)
    git("gc", "-q", "--prune=now", cwd=root)
    return root


def test_a_bump_of_many_commits_its_objects_packed_and_a_refused_one_leaves_no_ref(
        many: Path) -> None:
    """A change of 100 files or more has its blobs and trees packed by `git fast-import`
    while the files are written and checked (gitrepo.pack_ahead): the commit leaves one
    loose object, itself. A bump refused by the check leaves no ref of that behind."""
    root = many
    result = cli("bump-image", "1.4.2", cwd=root)
    assert result.code == 0, result.text
    assert len(commit_files(root)) == 111  # the values of each, and the fleet tag
    assert "count: 1\n" in git("count-objects", "-v", cwd=root)
    assert git("for-each-ref", "refs/gitops-gen", cwd=root) == ""
    assert git("fsck", "--no-dangling", cwd=root) == ""
    _break_tag_666(root)
    state = tree_state(root)
    assert cli("bump-image", "6.6.6", cwd=root).code == 1
    assert tree_state(root) == state
    assert git("for-each-ref", "refs/gitops-gen", cwd=root) == ""


def test_a_pack_ahead_without_room_for_its_input_leaves_the_commit_to_git(many: Path) -> None:
    """The objects packed ahead are a shortcut: where their input cannot be written
    (files limited to 100 kB here, as a full /tmp would), the commit writes them."""
    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100 * 1024, 100 * 1024))

    proc = subprocess.run([sys.executable, "-m", "gitops_gen", "bump-image", "1.4.2"],
                          cwd=many, capture_output=True, text=True, timeout=300,
                          preexec_fn=limited)
    assert proc.returncode == 0, proc.stderr
    assert "internal error" not in proc.stderr
    assert len(commit_files(many)) == 111
    assert git("status", "--porcelain", cwd=many) == ""
    assert git("fsck", "--no-dangling", cwd=many) == ""


def test_a_pack_ahead_ref_left_by_a_killed_run_goes_with_the_next_large_commit(
        many: Path) -> None:
    """A run killed while its objects were packed ahead leaves the throw-away ref (at a
    tip the next pack-ahead does not descend from): the next large commit removes it."""
    tree = git("rev-parse", "HEAD^{tree}", cwd=many).strip()
    orphan = git("commit-tree", tree, "-m", "a killed run's", cwd=many).strip()
    git("update-ref", "refs/gitops-gen/pack-ahead", orphan, cwd=many)
    result = cli("bump-image", "1.4.2", cwd=many)
    assert result.code == 0, result.text
    assert git("for-each-ref", "refs/gitops-gen", cwd=many) == ""
    assert "count: 2\n" in git("count-objects", "-v", cwd=many)  # the orphan, the commit
