"""The platforms `gitops-gen init` copies: packaged in the wheel, or (in a source
checkout) this repository's own files — one copy either way.

The default (`lunarfront`) is this repository's own platform. The others are the example
platforms under `examples/<name>/`: a scaffold takes an example's own platform files (its
gitops-gen.yaml, templates, schemas and charts) and shares the rest with the default (CI
workflows, pre-commit config, README). It starts with no customers: an example's
customers and generated tree are its demonstration, not a new platform's starting state.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import yaml

from gitops_gen.errors import InputError
from gitops_gen.platform import CONFIG_FILE
from gitops_gen.tree import generated_from

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

DEFAULT_TEMPLATE = "lunarfront"
EXAMPLES_DIR = "examples"
# What an example brings itself, replacing the default's (a path, or a folder of them).
_EXAMPLE_OWNS = ("gitops-gen.yaml", "templates", "schemas", "gitops/chart")
# The image bump workflow only works on a platform with one fleet image (`image:`).
_FLEET_IMAGE_ONLY = frozenset({".gitea/workflows/bump-image.yml"})


def scaffold_root() -> Path:
    packaged = Path(str(resources.files("gitops_gen"))) / "_scaffold"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent


def template_names() -> list[str]:
    """What `init --template` accepts: the default and every example platform."""
    examples = scaffold_root() / EXAMPLES_DIR
    found = {p.name for p in examples.iterdir() if (p / CONFIG_FILE).is_file()} if (
        examples.is_dir()) else set()
    return sorted(found | {DEFAULT_TEMPLATE})


def scaffold_files(template: str = DEFAULT_TEMPLATE) -> Iterator[tuple[Path, str]]:
    """(source file, destination path relative to the new repo) for every file."""
    if template == DEFAULT_TEMPLATE:
        yield from _layout_files(LAYOUT)
        return
    example = _example_dir(template)
    shared = tuple((src, dest) for src, dest in LAYOUT if src not in _EXAMPLE_OWNS)
    has_image = "image" in (yaml.safe_load((example / CONFIG_FILE).read_bytes()) or {})
    for src, dest in _layout_files(shared):
        if has_image or dest not in _FLEET_IMAGE_ONLY:
            yield src, dest
    for part in _EXAMPLE_OWNS:
        for path in _files_under(example / part):
            if generated_from(path) is None:
                yield path, path.relative_to(example).as_posix()


def _example_dir(template: str) -> Path:
    names = template_names()
    if template not in names:
        raise InputError(f"unknown template {template!r}; templates: {', '.join(names)}")
    return scaffold_root() / EXAMPLES_DIR / template


def _layout_files(layout: tuple[tuple[str, str], ...]) -> Iterator[tuple[Path, str]]:
    root = scaffold_root()
    packaged = root.name == "_scaffold"
    for source, dest in layout:
        src = root / (_PACKAGED.get(source, source) if packaged else source)
        for path in _files_under(src):
            rel = path.relative_to(src).as_posix()
            yield path, dest if path == src else rel if dest == "." else f"{dest}/{rel}"


def _files_under(src: Path) -> list[Path]:
    """`src` itself if it is a file, else the files below it (none if it is missing)."""
    if src.is_file():
        return [src]
    return [p for p in sorted(src.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
