"""Everything one customer app's build reads, as one digest: equal digests, equal builds.

`diff` builds a customer on both sides only when its digest differs. A build reads:

- the customer's Argo CD objects (the Application's sources, destination, options) and
  the Kubernetes version helm is told;
- every file under each source `path` (the chart, the overlay);
- the helm value files and file parameters the sources name (`$values/x` = repo root);
- whatever a kustomization (`../base`, `key=../file`) or a Chart.yaml
  (`repository: file://../lib`) in those directories reaches outside them, transitively.

Any string in a kustomization that names an existing path counts, so the rule can only
err towards rebuilding. When the inputs cannot be told for sure — a path that leaves the
repository, a symlink, a kustomization or Chart.yaml that does not parse, a resource or
file a kustomization loads that is not there (remote, or missing: it may appear outside
everything hashed) — there is no digest and the customer is always rebuilt.

`validate`'s build cache keys on the same digest (gitops_gen/buildcache.py), so an error
here can only cost a rebuild, never hide a change.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from gitops_gen import goyaml
from gitops_gen.argocd import APPLICATION_KIND
from gitops_gen.docshapes import SHAPES
from gitops_gen.model import Manifest
from gitops_gen.resolver import Resolver, is_within, relative_posix

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class _Unknown(Exception):
    """The inputs cannot be told for sure: rebuild."""


class InputDigests:
    """Digests of customer apps in one tree; a directory shared by many apps (the chart)
    is read once."""

    def __init__(self, root: Path, kube_version: str) -> None:
        self.root = root.resolve()
        self.kube_version = kube_version
        self._inside = _Inside(self.root)
        self._content: dict[Path, str] = {}
        self._references: dict[Path, list[Path] | None] = {}  # None: cannot tell
        self._documents: dict[Path, Any] = {}
        self._listings: dict[Path, frozenset[str]] = {}

    def digest(self, objects: Sequence[Manifest]) -> str | None:
        """The digest of the apps a customer's Argo CD `objects` define. None: rebuild."""
        try:
            paths: set[Path] = set()
            for app in objects:
                if (app.api_version, app.kind) == APPLICATION_KIND:
                    paths |= _source_paths(self._inside, app.obj)
            digest = hashlib.sha256()
            digest.update(_json([self.kube_version, [m.obj for m in objects]]).encode())
            self._add_contents(digest, self._closure(paths))
        except _Unknown:
            return None
        return digest.hexdigest()

    def reach_digest(self, path: Path) -> str | None:
        """The digest of what kustomize reads to build the overlay at `path`: everything
        its kustomizations reach (names and bytes), and of a directory whose kustomization
        reads only what it names (`_named_reads_digest`) just that, so that a Helm values
        file kept beside the overlay is not an input of it. None: cannot tell, rebuild."""
        try:
            digest = hashlib.sha256()
            closure = self._closure({self._inside(path)})
            for reached in sorted(closure):
                digest.update(os.fsencode(f"\0{relative_posix(reached, self.root)}\0"))
                named = self._named_reads_digest(reached, closure)
                digest.update((named or self._content_of(reached)).encode())
        except _Unknown:
            return None
        return digest.hexdigest()

    def _named_reads_digest(self, directory: Path, closure: set[Path]) -> str | None:
        """For a directory whose one kustomization uses only fields that read nothing but
        the paths they name (`_READS_ONLY_WHAT_IT_NAMES`), the digest of that file and of
        every path in the directory that a kustomization of `closure` names (absent ones
        too: their appearing must change it). None: not such a directory."""
        names = self._listing(directory)
        found = [directory / name for name in KUSTOMIZATION_NAMES
                 if _may_exist(name, names) and _exists(directory / name)]
        if len(found) != 1 or not found[0].is_file():
            return None
        kustomization = self._load(found[0])
        if not (isinstance(kustomization, dict)
                and set(kustomization) <= _READS_ONLY_WHAT_IT_NAMES):
            return None
        reads: dict[str, str] = {found[0].name: self._content_of(found[0])}
        for word in _strings(kustomization):
            if not _may_name_a_path(word):
                continue
            for candidate in {word, word.partition("=")[2]} - {""}:
                path = directory / candidate
                if not (_may_exist(candidate, names) and _exists(path)):
                    reads[candidate] = "-"
                elif is_within(resolved := self._inside(path), directory):
                    reads[candidate] = f"{relative_posix(resolved, directory)} " + (
                        self._content_of(resolved))
                else:
                    reads[candidate] = "+"  # outside: in the closure, hashed on its own
        for member in closure:  # what the others name in here (a kustomization's `../x`)
            for path in self._references_of(member):
                if is_within(path, directory) and path != directory:
                    reads[f"\0{relative_posix(path, directory)}"] = self._content_of(path)
        return hashlib.sha256(_json(sorted(reads.items())).encode()).hexdigest()

    def _listing(self, directory: Path) -> frozenset[str]:
        """`_names_in(directory)`, listed once per run."""
        if directory not in self._listings:
            self._listings[directory] = _names_in(os.fspath(directory))
        return self._listings[directory]

    def _add_contents(self, digest: Any, paths: set[Path]) -> None:
        for path in sorted(paths):
            digest.update(os.fsencode(f"\0{relative_posix(path, self.root)}\0"))
            digest.update(self._content_of(path).encode())

    def closure_of(self, path: Path) -> set[Path] | None:
        """`path` and everything its kustomizations and charts reach; None: cannot tell."""
        try:
            return self._closure({self._inside(path)})
        except _Unknown:
            return None

    def _closure(self, paths: set[Path]) -> set[Path]:
        """`paths` and every path their kustomizations and charts reach outside them."""
        todo, seen = list(paths), set(paths)
        while todo:
            for found in self._references_of(todo.pop()):
                if found not in seen and not any(is_within(found, p) for p in seen):
                    seen.add(found)
                    todo.append(found)
        return seen

    def _references_of(self, path: Path) -> list[Path]:
        if path not in self._references:
            try:
                self._references[path] = list(_references(self._inside, path, self._load))
            except _Unknown:
                self._references[path] = None
        found = self._references[path]
        if found is None:
            raise _Unknown(path)
        return found

    def _load(self, path: Path) -> Any:
        """A kustomization or Chart.yaml, parsed once per run (raises `_Unknown`)."""
        if path not in self._documents:
            self._documents[path] = _load(path)
        return self._documents[path]

    def _content_of(self, path: Path) -> str:
        if path not in self._content:
            # a directory's files are hashed on the way: a kustomization in it that
            # `_named_reads_digest` reads is not read and hashed a second time
            self._content[path] = _content_digest(path, self._content)
        return self._content[path]


def _source_paths(inside: _Inside, application: dict[str, Any]) -> set[Path]:
    spec = _mapping(application.get("spec"))
    sources = spec.get("sources") if isinstance(spec.get("sources"), list) else [
        spec.get("source")]
    paths: set[Path] = set()
    for source in (s for s in sources or [] if isinstance(s, dict)):
        if "path" not in source:
            continue
        base = inside(inside.root / str(source["path"] or "."))
        paths.add(base)
        helm = _mapping(source.get("helm"))
        named = [str(v) for v in helm.get("valueFiles") or []]
        named += [str(_mapping(p).get("path", "")) for p in helm.get("fileParameters") or []]
        paths.update(_value_path(inside, base, raw) for raw in named if not _URL.match(raw))
    return paths


def _value_path(inside: _Inside, chart: Path, raw: str) -> Path:
    # As build.py: `$ref/x` is from a same-repo ref (the repo root; any other ref fails
    # the build on both sides alike), `/x` from the root, anything else from the chart.
    root = inside.root
    if raw.startswith("$"):
        return inside(root / raw.partition("/")[2])
    return inside(root / raw.lstrip("/") if raw.startswith("/") else chart / raw)


def _references(inside: _Inside, path: Path, load: Callable[[Path], Any]) -> Iterator[Path]:
    """Existing paths that kustomizations and Chart.yaml files under `path` name (none
    for a file: os.walk lists nothing there)."""
    for directory, subdirectories, files in os.walk(path):
        here = Path(directory)
        names: frozenset[str] | None = None
        for name in files:
            if name in KUSTOMIZATION_NAMES:
                kustomization = load(here / name)
                _require_loaded_paths(here, kustomization)
                words = _strings(kustomization)
            elif name == "Chart.yaml":
                words = _chart_dependencies(load(here / name))
            else:
                continue
            if names is None:
                names = frozenset(n.lower() for n in (*files, *subdirectories))
            for word in words:
                if found := _existing(inside, here, word, names):
                    yield found


# Kustomization fields whose entries kustomize loads: each must be a path that exists.
_LOADED_LISTS = ("resources", "bases", "components", "crds")
_GENERATOR_LISTS = ("configMapGenerator", "secretGenerator")


def _require_loaded_paths(here: Path, kustomization: Any) -> None:
    """Refuse to tell the inputs of a kustomization that loads something absent: a
    remote base, or a file that a later change may create where nothing is hashed."""
    spec = _mapping(kustomization)
    entries = [e for key in _LOADED_LISTS for e in _list(spec.get(key))]
    entries += [_mapping(p).get("path") for p in _list(spec.get("patches"))]
    for generator in (g for key in _GENERATOR_LISTS for g in _list(spec.get(key))):
        for field in ("files", "envs"):
            entries += [str(f).rpartition("=")[2] for f in _list(_mapping(generator).get(field))]
        entries.append(_mapping(generator).get("env"))
    for entry in (e for e in entries if isinstance(e, str) and e):
        try:
            present = (here / entry).exists()
        except (OSError, ValueError):  # a NUL byte, a name too long
            present = False
        if not present:
            raise _Unknown(here / entry)


# Kustomization fields with which kustomize reads nothing but the files and directories
# named in them; others (transformers, generators, helmCharts, openapi, configurations...)
# may read what only their own files name, and make a directory count whole.
_READS_ONLY_WHAT_IT_NAMES = frozenset({
    "apiVersion", "kind", "metadata", "namespace", "namePrefix", "nameSuffix", "labels",
    "commonLabels", "commonAnnotations", "resources", "bases", "components", "crds",
    "patches", "patchesStrategicMerge", "patchesJson6902", "images", "replicas",
    "configMapGenerator", "secretGenerator", "generatorOptions", "buildMetadata",
    "sortOptions"})


def _may_name_a_path(word: str) -> bool:
    return not ("\n" in word or "\0" in word or len(word) > 1024 or _URL.match(word))


def _names_in(directory: str) -> frozenset[str]:
    """The names in `directory`, lowercased, for `_may_exist` (none if it cannot be
    listed: nothing can be found in it then either)."""
    try:
        return frozenset(name.lower() for name in os.listdir(directory))
    except OSError:
        return frozenset()


def _may_exist(relative: str, names: frozenset[str]) -> bool:
    """False only where `relative` cannot exist in a directory holding `names` (lowercased,
    `_names_in`): its first component is an ASCII name that is not there. Kustomization
    strings are mostly not paths (`Kustomization`, label values): a stat each, with the
    `Path`s around it, was ~1 s of a 10,000-customer build's keys. Compared lowercased,
    so that a case-insensitive file system, where `Base` names `base`, still gets its
    stat; `.`, `..`, absolute and non-ASCII names always do."""
    first = relative.partition("/")[0]
    if first in ("", ".", "..") or not first.isascii():
        return True
    return first.lower() in names


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long
        return False


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _existing(inside: _Inside, base: Path, word: str, names: frozenset[str]) -> Path | None:
    """The path `word` (or the file of its `key=file` form) names in `base`, whose
    entries are `names` (`_may_exist`), resolved; None if it names nothing there."""
    if not _may_name_a_path(word):
        return None
    for candidate in (word, word.partition("=")[2]):
        try:
            if candidate and _may_exist(candidate, names) and _exists(base / candidate):
                return inside(base / candidate)
        except OSError:
            continue
    return None


def _load(path: Path) -> Any:
    try:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return goyaml.load(data)
        # each customer's kustomization as the last one, new scalars put in (docshapes.py):
        # the value (or error) goyaml.load gives, in a third of the time
        return SHAPES.load(("input", path.name), text)
    except (OSError, yaml.YAMLError) as exc:
        raise _Unknown(path) from exc


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _chart_dependencies(chart: Any) -> Iterator[str]:
    for dependency in _mapping(chart).get("dependencies") or []:
        repository = str(_mapping(dependency).get("repository") or "")
        if repository.startswith("file://"):
            yield repository.removeprefix("file://")


class _Inside:
    """A path resolved (symlinks followed), refused (`_Unknown`) if it leaves `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._resolver = Resolver()

    def __call__(self, path: Path) -> Path:
        resolved = self._resolver.resolve(path)
        if not is_within(resolved, self.root):
            raise _Unknown(path)
        return resolved


def _content_digest(path: Path, files: dict[Path, str]) -> str:
    """sha256 over the names and bytes of the files at `path`; "-" if there is nothing.
    The digest of each file of a directory goes to `files` too (as a file's own would)."""
    try:
        mode = os.stat(path).st_mode  # one stat where is_file() and is_dir() took two
    except (OSError, ValueError):
        return "-"
    if stat.S_ISREG(mode):
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if not stat.S_ISDIR(mode):
        return "-"
    digest = hashlib.sha256()
    _digest_directory(digest, str(path), "", files)
    return digest.hexdigest()


def _digest_directory(digest: Any, directory: str, prefix: str, files: dict[Path, str]) -> None:
    """Each file's name (relative, `/`-separated) and bytes, in `os.walk`'s top-down order
    with names sorted; a directory that cannot be listed counts as empty, as there. Each
    file's own digest goes to `files`."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    subdirectories = []
    for entry in entries:
        if entry.is_symlink():
            raise _Unknown(Path(entry.path))  # may lead anywhere; not worth following
        if entry.is_dir():
            subdirectories.append(entry)
        elif not entry.is_file():
            raise _Unknown(Path(entry.path))  # a FIFO would block the read: rebuild
        else:
            with open(entry.path, "rb") as file:
                content = hashlib.sha256(file.read()).hexdigest()
            files[Path(entry.path)] = content
            digest.update(os.fsencode(f"\0{prefix}{entry.name}\0{content}"))
    for entry in subdirectories:
        _digest_directory(digest, entry.path, f"{prefix}{entry.name}/", files)


def _json(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except TypeError as exc:  # keys of mixed types (YAML allows `1:` next to `a:`)
        raise _Unknown(value) from exc


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
