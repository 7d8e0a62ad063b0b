"""The default platform that `gitops-gen init` copies: packaged in the wheel, or (in a
source checkout) this repository's own platform files — one copy either way."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

# scaffold source (relative to the scaffold root) -> destination in the new repo
LAYOUT: tuple[tuple[str, str], ...] = (
    ("gitops-gen.yaml", "gitops-gen.yaml"),
    ("templates", "templates"),
    ("schemas", "schemas"),
    ("gitops/chart", "gitops/chart"),
    (".pre-commit-config.yaml", ".pre-commit-config.yaml"),
    (".gitea/workflows/bump-image.yml", ".gitea/workflows/bump-image.yml"),
    ("scaffold", "."),
)
_PACKAGED = {"scaffold": "extra"}


def scaffold_root() -> Path:
    packaged = Path(str(resources.files("gitops_gen"))) / "_scaffold"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent


def scaffold_files() -> Iterator[tuple[Path, str]]:
    """(source file, destination path relative to the new repo) for every file."""
    root = scaffold_root()
    packaged = root.name == "_scaffold"
    for source, dest in LAYOUT:
        src = root / (_PACKAGED.get(source, source) if packaged else source)
        if src.is_file():
            yield src, dest
            continue
        for path in sorted(src.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.relative_to(src).as_posix()
                yield path, rel if dest == "." else f"{dest}/{rel}"
