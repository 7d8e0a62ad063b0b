"""Onboarding through the CLI on real git repos: add, remove, compile, list, --no-commit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ACME_FILES, cli, commit_count, commit_files, git, tree_state


def test_add_makes_one_commit_with_exactly_spec_and_generated_files(platform: Path) -> None:
    before = commit_count(platform)
    result = cli("add", "acme", cwd=platform)
    assert result.code == 0, result.text
    assert commit_count(platform) == before + 1
    assert commit_files(platform) == ACME_FILES
    sha = git("rev-parse", "HEAD", cwd=platform).strip()
    assert sha in result.out
    assert git("log", "-1", "--format=%s", cwd=platform).strip() == "Add customer acme"
    assert git("status", "--porcelain", cwd=platform) == ""


def test_add_commits_with_the_platform_identity_when_git_has_none(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    author = git("log", "-1", "--format=%an <%ae>", cwd=platform).strip()
    assert author == "gitops-gen <gitops-gen@users.noreply.invalid>"


def test_add_with_no_flags_is_a_complete_customer_from_defaults(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    values = yaml.safe_load((platform / "gitops/apps/customer-acme/values.yaml").read_text())
    assert values["host"] == "acme.app.lunarfront.tech"
    assert values["image"]["tag"] == "1.0.0"
    assert values["replicas"] == 1  # the default tier, small
    assert values["database"]["name"] == "customer_acme"


def test_add_existing_customer_is_refused_and_changes_nothing(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    state = tree_state(platform)
    result = cli("add", "acme", cwd=platform)
    assert result.code == 2
    assert "already exists" in result.err and "customers/acme.yaml" in result.err
    assert tree_state(platform) == state


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("ACME", "not a DNS-1123 label"),
        ("../x", "not a DNS-1123 label"),
        ("/etc", "not a DNS-1123 label"),
        ("a" * 64, "at most 40"),
        ("-acme", "not a DNS-1123 label"),
        ("acme_1", "not a DNS-1123 label"),
    ],
)
def test_bad_names_are_refused_and_change_nothing(platform: Path, name: str,
                                                  fragment: str) -> None:
    state = tree_state(platform)
    result = cli("add", "--", name, cwd=platform) if name.startswith("-") else cli(
        "add", name, cwd=platform)
    assert result.code == 2, result.text
    assert fragment in result.err
    assert tree_state(platform) == state


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("name: acme\ntier: [small\n", "customers/acme.yaml:3: malformed YAML"),
        ("name: acme\ntier: small\ntier: large\n",
         'customers/acme.yaml:3: duplicate key: "tier" appears more than once'),
        ("name: acme\ncolour: blue\n", "customers/acme.yaml:1: <top>: unknown field 'colour'"),
        ("name: acme\nreplicas: two\n",
         "customers/acme.yaml:2: replicas: must be of type integer, not string"),
        ("name: acme\nimage:\n  tag: latest!\n", "customers/acme.yaml:3: image.tag: does not "
         "match the pattern"),
        ("name: other\n", "customers/acme.yaml:1: name: must equal the file name 'acme'"),
        ("name: acme\ntier: huge\n", "customers/acme.yaml:2: tier: unknown tier 'huge'"),
        ("base: &b {tier: small}\nname: acme\n", "customers/acme.yaml:1: YAML anchors and "
         "aliases are not allowed"),
        ("- name: acme\n", "customers/acme.yaml:1: expected a mapping"),
    ],
)
def test_bad_specs_name_file_line_and_field(platform: Path, spec: str, fragment: str) -> None:
    (platform / "customers/acme.yaml").write_text(spec)
    state = tree_state(platform)
    for command in (["compile"], ["validate"], ["list"]):
        result = cli(*command, cwd=platform)
        assert result.code == 2, (command, result.text)
        assert fragment in result.err, (command, result.err)
    assert tree_state(platform) == state


def test_set_with_an_unknown_field_is_refused_before_anything_is_written(platform: Path) -> None:
    state = tree_state(platform)
    result = cli("add", "acme", "--set", "colour=blue", cwd=platform)
    assert result.code == 2
    assert "customers/acme.yaml:2: <top>: unknown field 'colour'" in result.err
    assert tree_state(platform) == state


def test_plaintext_secret_is_refused_and_never_echoed(platform: Path) -> None:
    state = tree_state(platform)
    result = cli("add", "acme", "--set", "env.DB_PASSWORD=hunter2-s3cret", cwd=platform)
    assert result.code == 2
    assert "env.DB_PASSWORD: looks like a plaintext secret" in result.err
    assert "hunter2" not in result.text
    result = cli("add", "acme", "--set", "env.DATABASE_URL=postgres://u:pw1234@db/x",
                 cwd=platform)
    assert result.code == 2
    assert "pw1234" not in result.text
    assert tree_state(platform) == state


def test_spec_values_cannot_inject_yaml_structure(platform: Path) -> None:
    result = cli("add", "acme", "--set", "subdomain=x\nkind: Secret", cwd=platform)
    assert result.code == 2
    assert "subdomain: does not match the pattern" in result.err
    payload = 'x\nkind: Secret\n---\nkind: Secret\n{{ 7*7 }} {% raw %}'
    (platform / "customers/acme.yaml").write_text(
        f"name: acme\nenv:\n  NOTE: {yaml.safe_dump(payload).strip()}\n  COUNTRY: 'NO'\n")
    assert cli("compile", cwd=platform).code == 0
    values_file = platform / "gitops/apps/customer-acme/values.yaml"
    docs = list(yaml.safe_load_all(values_file.read_text()))
    assert len(docs) == 1
    assert docs[0]["env"] == {"NODE_ENV": "production", "NOTE": payload, "COUNTRY": "NO"}
    assert "kind" not in docs[0]


def test_remove_requires_retiring_or_force(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    state = tree_state(platform)
    result = cli("remove", "acme", cwd=platform)
    assert result.code == 2
    assert "lifecycle: retiring" in result.err
    assert tree_state(platform) == state


def test_remove_deletes_spec_and_generated_files_in_one_commit(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    assert cli("add", "globex", cwd=platform).code == 0
    spec = platform / "customers/acme.yaml"
    spec.write_text(spec.read_text() + "lifecycle: retiring\n")
    git("commit", "-qam", "Retire acme", cwd=platform)
    before = commit_count(platform)
    result = cli("remove", "acme", cwd=platform)
    assert result.code == 0, result.text
    assert commit_count(platform) == before + 1
    assert commit_files(platform) == ACME_FILES
    assert not any((platform / f).exists() for f in ACME_FILES)
    assert not (platform / "gitops/apps/customer-acme").exists()
    assert (platform / "gitops/argocd/customer-globex.yaml").is_file()
    assert "its database customer_acme and role customer_acme on " in result.out
    assert git("status", "--porcelain", cwd=platform) == ""


def test_remove_unknown_customer(platform: Path) -> None:
    result = cli("remove", "nobody", "--force", cwd=platform)
    assert result.code == 2
    assert "unknown customer 'nobody'" in result.err


def test_compile_twice_changes_nothing(platform: Path) -> None:
    (platform / "customers/acme.yaml").write_text("name: acme\ntier: large\n")
    first = cli("compile", cwd=platform)
    assert first.code == 0 and "4 written" in first.out
    state = tree_state(platform)
    second = cli("compile", cwd=platform)
    assert second.code == 0 and "0 written, 0 deleted" in second.out
    assert tree_state(platform) == state


def test_compile_deletes_orphans_but_never_hand_written_files(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    notes = platform / "gitops/apps/README.md"
    notes.write_text("hand-written notes\n")
    (platform / "customers/acme.yaml").unlink()
    result = cli("compile", cwd=platform)
    assert result.code == 0
    assert not (platform / "gitops/apps/customer-acme").exists()
    assert not (platform / "gitops/argocd/customer-acme.yaml").exists()
    assert notes.read_text() == "hand-written notes\n"


def test_compile_of_a_name_is_a_removed_customers_cleanup_or_an_unknown_name(
    platform: Path,
) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    typo = cli("compile", "acmee", cwd=platform)
    assert typo.code == 2 and "unknown customer(s) acmee: no spec and nothing generated" in (
        typo.err) and "(customers: acme)" in typo.err
    (platform / "customers/acme.yaml").unlink()
    removed = cli("compile", "acme", cwd=platform)
    assert removed.code == 0 and "4 deleted" in removed.out, removed.text
    assert not (platform / "gitops/apps/customer-acme").exists()


def test_no_commit_writes_but_does_not_commit(platform: Path) -> None:
    before = commit_count(platform)
    result = cli("add", "acme", "--no-commit", cwd=platform)
    assert result.code == 0, result.text
    assert commit_count(platform) == before
    status = git("status", "--porcelain", "--untracked-files=all", cwd=platform)
    assert sorted(line[3:] for line in status.splitlines()) == ACME_FILES


def test_add_leaves_unrelated_dirty_files_alone(platform: Path) -> None:
    readme = platform / "README.md"
    readme.write_text(readme.read_text() + "local edit\n")
    (platform / "scratch.txt").write_text("untracked\n")
    git("add", "scratch.txt", cwd=platform)
    assert cli("add", "acme", cwd=platform).code == 0
    assert commit_files(platform) == ACME_FILES
    status = git("status", "--porcelain", cwd=platform)
    assert " M README.md" in status and "A  scratch.txt" in status


def test_add_refuses_when_a_file_it_would_write_is_dirty(platform: Path) -> None:
    stray = platform / "gitops/argocd/customer-acme.yaml"
    stray.write_text("# a hand edit\n")
    state = tree_state(platform)
    result = cli("add", "acme", cwd=platform)
    assert result.code == 2
    assert "uncommitted changes" in result.err and "gitops/argocd/customer-acme.yaml" in result.err
    assert tree_state(platform) == state


def test_list_shows_hosts_tiers_tags_and_pins(platform: Path) -> None:
    assert cli("add", "acme", cwd=platform).code == 0
    assert cli("add", "globex", "--set", "image.tag=0.9.0", "--set", "image.pinned=true",
               "--set", "tier=large", cwd=platform).code == 0
    result = cli("list", cwd=platform)
    assert result.code == 0
    rows = [line.split() for line in result.out.splitlines()]
    assert rows[0] == ["NAME", "HOST", "TIER", "TAG", "PINNED", "STATUS"]
    assert rows[1] == ["acme", "acme.app.lunarfront.tech", "small", "1.0.0", "no", "current"]
    assert rows[2][:5] == ["globex", "globex.app.lunarfront.tech", "large", "0.9.0", "yes"]
    assert " ".join(rows[2][5:]) == "behind fleet 1.0.0"


def test_list_tells_a_canary_ahead_from_a_customer_behind(platform: Path) -> None:
    """Every tag other than the fleet's was "lags": a canary a version ahead too."""
    assert cli("add", "acme", cwd=platform).code == 0
    assert cli("add", "globex", "--set", "image.tag=1.2.0", "--set", "image.pinned=true",
               cwd=platform).code == 0
    assert cli("add", "initech", "--set", "image.tag=1.9.0-rc.1", cwd=platform).code == 0
    assert cli("bump-image", "1.9.0", cwd=platform).code == 0  # initech has its own tag
    assert cli("bump-image", "1.10.0", "--customer", "acme", cwd=platform).code == 0
    result = cli("list", "--format", "json", cwd=platform)
    assert result.code == 0, result.text
    status = {row["NAME"]: (row["TAG"], row["STATUS"]) for row in json.loads(result.out)}
    assert status == {"acme": ("1.10.0", "ahead of fleet 1.9.0"),  # as numbers, not text
                      "globex": ("1.2.0", "behind fleet 1.9.0"),
                      "initech": ("1.9.0", "current")}
    assert cli("bump-image", "1.9.0-rc.1", "--customer", "initech", cwd=platform).code == 0
    rows = json.loads(cli("list", "--format", "json", cwd=platform).out)
    assert rows[2]["STATUS"] == "differs (fleet 1.9.0)"


def test_not_a_platform_repo(tmp_path: Path) -> None:
    result = cli("compile", cwd=tmp_path)
    assert result.code == 2
    assert "not a gitops-gen platform repo" in result.err


def test_commands_find_the_root_from_a_subdirectory_and_with_dash_c(platform: Path) -> None:
    assert cli("add", "acme", "--no-commit", cwd=platform / "gitops").code == 0
    assert cli("-C", str(platform), "list", cwd=platform.parent).code == 0


def test_unknown_flag_is_a_usage_error(platform: Path) -> None:
    result = cli("add", "acme", "--bogus", cwd=platform)
    assert result.code == 2
    assert "No such option" in result.err


def test_specs_kept_in_a_dot_directory_are_left_unread(platform: Path) -> None:
    """The way out the subdirectory refusal names (tests/corpus/61-*): `.archive/`."""
    (platform / "customers/.archive").mkdir()
    (platform / "customers/.archive/old.yaml").write_text("name: old\n")
    (platform / "customers/docs").mkdir()  # no spec in it: no reason to refuse
    (platform / "customers/docs/notes.txt").write_text("who owns whom\n")
    result = cli("add", "acme", cwd=platform)
    assert result.code == 0, result.text
    assert not (platform / "gitops/apps/customer-old").exists()


def _with_reader_gone(*args: str, cwd: Path) -> tuple[int, str]:
    """`gitops-gen ARGS | true`: stdout's reader has gone before anything is written.
    (exit code, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "gitops_gen", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def test_a_reader_that_goes_away_changes_no_exit_code(platform: Path) -> None:
    """`gitops-gen add acme | head -1`: the broken pipe ended the run with exit 1 (the
    code of validation findings) after `add` had committed, and `validate` of a broken
    tree with 1 too for another reason; each now ends with its own code, silently."""
    code, err = _with_reader_gone("add", "acme", cwd=platform)
    assert (code, err) == (0, "")
    assert commit_count(platform) == 2
    code, err = _with_reader_gone("validate", "--format", "json", cwd=platform)
    assert (code, err) == (0, "")
    values = platform / "gitops/apps/customer-acme/values.yaml"
    values.write_text(values.read_text() + "# a hand edit\n")
    code, err = _with_reader_gone("validate", cwd=platform)
    assert (code, err) == (1, "")
    code, err = _with_reader_gone("add", "Bad", cwd=platform)
    assert code == 2 and "not a DNS-1123 label" in err


def test_a_run_ends_at_once_yet_writes_all_its_output_and_runs_exit_handlers(
        platform: Path, tmp_path: Path) -> None:
    """A run ends without the interpreter's teardown (cli.hard_exit): what its output
    buffers still hold is written, and the exit handlers run (one registered here stands
    for multiprocessing's and the temporary directories' finalizers)."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    ran = tmp_path / "exit-handler-ran"
    (hooks / "sitecustomize.py").write_text(
        f"import atexit, pathlib\natexit.register(pathlib.Path({str(ran)!r}).touch)\n")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(hooks),
                                                       os.environ.get("PYTHONPATH")])),
           "PYTHONUNBUFFERED": ""}  # output to a pipe buffered, as it is by default
    assert cli("add", "acme", cwd=platform, env=env).code == 0
    assert ran.exists()
    ran.unlink()
    result = cli("validate", "--format", "json", cwd=platform, env=env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["summary"]["customers"] == 1  # the last bytes too
    assert ran.exists()
