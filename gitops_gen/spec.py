"""Customer specs: `customers/<name>.yaml`, loaded with line numbers and validated.

Every problem is an `InputError` naming `customers/x.yaml:LINE: field: problem`; the
specs of a repo are checked together so one run reports them all.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops_gen.errors import InputError
from gitops_gen.forkpool import map_forked
from gitops_gen.handwritten import read_text
from gitops_gen.plainyaml import plain_mapping
from gitops_gen.platform import CUSTOMER_SCHEMA, SPEC_DIR, Platform
from gitops_gen.schemacheck import validator_errors
from gitops_gen.speccache import SpecCache
from gitops_gen.yamlio import (
    LoadedYaml,
    PathPart,
    parse_mapping,
    to_plain,
)

if TYPE_CHECKING:  # jsonschema's ~30 ms of imports: only where a spec is checked
    from jsonschema import Draft202012Validator

NAME_MAX = 40
_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_SECRET_KEY = re.compile(
    r"(?i)(passw(or)?d|secret|token|api[-_]?key|private[-_]?key|credential|auth)"
)
_SECRET_VALUE = re.compile(r"://[^/\s:@]+:[^/\s@]+@|-----BEGIN [A-Z ]*PRIVATE KEY-----")


@dataclass(frozen=True)
class CustomerSpec:
    """A validated customer spec and what the platform derives from it."""

    name: str
    path: str  # repo-relative
    data: dict[str, Any]  # plain data as written in the spec
    namespace: str
    host: str
    tier: dict[str, Any]

    @property
    def subdomain(self) -> str:
        return str(self.data.get("subdomain") or self.name)

    @property
    def tier_name(self) -> str:
        return str(self.data.get("tier") or "")

    @property
    def pinned(self) -> bool:
        return bool((self.data.get("image") or {}).get("pinned", False))


def check_name(name: str) -> None:
    """Refuse anything but a DNS-1123 label: it becomes a namespace, a host and a path."""
    shown = json.dumps(name)
    if not name:
        raise InputError("customer name is empty")
    if len(name) > NAME_MAX:
        raise InputError(f"customer name {shown[:50]}… is {len(name)} characters; at most "
                         f"{NAME_MAX} are allowed")
    if not _LABEL.fullmatch(name):
        raise InputError(
            f"customer name {shown} is not a DNS-1123 label: lowercase letters, digits and "
            "'-', starting with a letter and ending with a letter or digit"
        )


def load_spec(platform: Platform, name: str, cache: SpecCache | None = None) -> CustomerSpec:
    rel, path = _spec_file(platform, name)
    text = read_text(path, rel)
    if cache is None:
        return _from_text(platform, name, rel, text)
    raw = text.encode("utf-8")
    if (data := cache.get(name, raw)) is not None:
        return _derived(platform, name, rel, data)  # these bytes passed before
    spec = _from_text(platform, name, rel, text)
    cache.put(name, raw, spec.data)
    return spec


def _spec_file(platform: Platform, name: str) -> tuple[str, Path]:
    """The spec's repo-relative name and path, once it is known to be a regular file in
    the repository."""
    check_name(name)
    rel = platform.spec_path(name)
    path = platform.path(rel)
    try:
        linked = stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        known = ", ".join(platform.customer_names()) or "none yet"
        raise InputError(f"unknown customer {name!r}: no {rel} (customers: {known})") from None
    if not path.is_file():
        raise InputError(f"{rel}: not a regular file (a directory, device, or broken symlink)")
    # Only a symlink at or below customers/ can lead out of the repository; resolving
    # every spec's path (~0.1 ms) would cost a second at 10,000 customers.
    if linked or os.path.islink(path.parent):
        _refuse_escape(platform.root, path, rel)
    return rel, path


def parse_spec(platform: Platform, name: str, text: str) -> CustomerSpec:
    """Validate spec text that is not on disk yet (what `add` is about to write)."""
    return _from_text(platform, name, platform.spec_path(name), text)


def load_all(platform: Platform, names: Sequence[str] | None = None,
             cache: SpecCache | None = None,
             known: Mapping[str, dict[str, Any]] | None = None,
             jobs: int = 0) -> list[CustomerSpec]:
    """Load every spec (or those named); all problems reported together, then uniqueness.
    With `cache`, specs whose bytes passed before are not checked again (speccache.py).
    `known`: the checked data of specs known unchanged since (validatememo.py), not read.
    `jobs`: processes checking specs (forkpool.py); 0 = one per core."""
    errors = _misnamed_files(platform) if names is None else []
    names = list(names) if names is not None else platform.customer_names()
    # Specs whose bytes passed before come from the cache here; the others are checked
    # (~1 ms each: 10 s for 10,000) in forked workers on every core (forkpool.py).
    loaded: list[CustomerSpec | InputError | None] = []
    unchecked: list[tuple[int, str, str]] = []  # (index in `loaded`, name, text)
    for name in names:
        if known is not None and name in known:
            loaded.append(_derived(platform, name, platform.spec_path(name), known[name]))
            continue
        try:
            rel, path = _spec_file(platform, name)
            text = read_text(path, rel)
            data = cache.get(name, text.encode("utf-8")) if cache is not None else None
            if data is not None:
                loaded.append(_derived(platform, name, rel, data))
                continue
            unchecked.append((len(loaded), name, text))
            loaded.append(None)
        except InputError as exc:
            loaded.append(exc)
    if unchecked:
        # the customer schema's validator (and jsonschema) here, once, before the forks
        # that check the specs inherit it: not once per worker
        with contextlib.suppress(InputError):  # a broken schema: reported per spec
            _customer_validator(platform)
    checked = map_forked(lambda i: _checked(platform, *unchecked[i][1:]), len(unchecked),
                         jobs)
    for (index, name, text), outcome in zip(unchecked, checked, strict=True):
        loaded[index] = outcome
        if cache is not None and isinstance(outcome, CustomerSpec):
            cache.put(name, text.encode("utf-8"), outcome.data)
    if cache is not None:
        cache.flush()
    specs = []
    for name, result in zip(names, loaded, strict=True):
        if isinstance(result, CustomerSpec):
            specs.append(result)
        elif result is not None:
            where = platform.spec_path(name)
            errors.append(str(result) if where in str(result) else f"{where}: {result}")
    if errors:
        raise InputError("\n".join(errors))
    return specs


def _checked(platform: Platform, name: str, text: str) -> CustomerSpec | InputError:
    try:
        return _from_text(platform, name, platform.spec_path(name), text)
    except InputError as exc:
        return exc


def _from_text(platform: Platform, name: str, display: str, text: str) -> CustomerSpec:
    """The spec `text` holds, checked (raises InputError). One in plainyaml's subset
    that passes every check needs no ruamel (~0.4 ms each); any other, or one with a
    problem, is read by ruamel, whose lines the messages name."""
    data = plain_mapping(text)
    if data is not None and not _problems(platform, data, name):
        return _derived(platform, name, display, data)
    return validate_spec(platform, parse_mapping(text, display), name)


def _misnamed_files(platform: Platform) -> list[str]:
    """Spec-looking files the tool would otherwise silently skip: `acme.yml`, `acme.YAML`,
    and specs in a subdirectory (`customers/team-a/acme.yaml`). A customer someone meant
    to add must not just be missing from the tree."""
    directory = platform.path(SPEC_DIR)
    try:
        # the entries' types from the listing itself (a stat only for a symlink): not a
        # stat per spec, 10,000 of them
        with os.scandir(directory) as listing:
            found = sorted((entry.name, entry.is_dir()) for entry in listing)
    except (FileNotFoundError, NotADirectoryError):
        found = []
    problems = []
    for name, is_dir in found:
        if name.startswith("."):  # an editor's file, like customer_names skips
            continue
        if _looks_like_a_spec(name) and not name.endswith(".yaml"):
            problems.append(f"{SPEC_DIR}/{name}: not read: spec files are named "
                            "<customer>.yaml (lowercase `.yaml`); rename it")
        elif is_dir and any(map(_looks_like_a_spec, _listing(directory / name))):
            problems.append(f"{SPEC_DIR}/{name}/: not read: specs live directly in "
                            f"{SPEC_DIR}/ (<customer>.yaml); move them up, or name the "
                            f"directory with a leading dot (.{name}) to keep it unread")
    return problems


def _looks_like_a_spec(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in (".yaml", ".yml") and not name.startswith(".")


def _listing(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def validate_spec(platform: Platform, loaded: LoadedYaml, name: str) -> CustomerSpec:
    data = to_plain(loaded.data)

    def at(path: Sequence[PathPart]) -> str:
        line = loaded.line_of(path)
        return f"{loaded.display}:{line}" if line else loaded.display

    errors = validator_errors(loaded, data, _customer_validator(platform))
    if not errors:
        errors.extend(_semantic_errors(platform, data, name, at))
    if errors:
        raise InputError("\n".join(errors))
    return _derived(platform, name, loaded.display, data)


def _problems(platform: Platform, data: dict[str, Any], name: str) -> bool:
    """Whether `validate_spec` would refuse `data` (without telling why: no lines)."""
    return not _customer_validator(platform).is_valid(data) or any(
        _semantic_errors(platform, data, name, lambda path: ""))


_VALIDATORS: dict[tuple[str, int, int, int], Draft202012Validator] = {}


def _customer_validator(platform: Platform) -> Draft202012Validator:
    """The customer schema's validator, built once per version of the file (its path,
    inode, size and mtime): `customer_schema` reads and parses it on every call."""
    from jsonschema import Draft202012Validator

    path = platform.path(CUSTOMER_SCHEMA)
    try:
        info = path.stat()
    except OSError:
        return Draft202012Validator(customer_schema(platform))  # raises the InputError
    key = (str(path), info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = Draft202012Validator(customer_schema(platform))
    return _VALIDATORS[key]


def _derived(platform: Platform, name: str, display: str, data: dict[str, Any]) -> CustomerSpec:
    """A valid spec's data with what the platform derives from it."""
    tier_name = str(data.get("tier") or platform.default_tier or "")
    subdomain = str(data.get("subdomain") or name)
    return CustomerSpec(
        name=name,
        path=display,
        data=data,
        namespace=platform.namespace_for(name),
        host=_host_override(data) or f"{subdomain}.{platform.domain}",
        tier={"name": tier_name, **platform.tiers.get(tier_name, {})},  # {"name": ""}: no tiers
    )


def check_unique(specs: Sequence[CustomerSpec]) -> list[str]:
    """Hosts must be unique across customers: two apps on one host is an outage."""
    owners: dict[str, str] = {}
    problems = []
    for spec in specs:
        other = owners.setdefault(spec.host, spec.name)
        if other != spec.name:
            field = "values.host" if _host_override(spec.data) else "subdomain"
            problems.append(f"{spec.path}: {field}: host {spec.host} is already used by "
                            f"customer {other}")
    return problems


def _host_override(data: dict[str, Any]) -> str | None:
    """The chart's `host` set through the free-form `values:`, which wins over the
    subdomain. It must count here: `add` builds only the new customer, so these checks
    are all that keeps it off another customer's host."""
    values = data.get("values")
    host = values.get("host") if isinstance(values, dict) else None
    return host if isinstance(host, str) else None


def _semantic_errors(platform: Platform, data: dict[str, Any], name: str,
                     at: Callable[[Sequence[PathPart]], str]) -> Iterator[str]:
    """Problems the schema cannot tell; `at(path)`: `file:line` of a field."""
    if data["name"] != name:
        yield f"{at(['name'])}: name: must equal the file name {name!r}"
    tier = data.get("tier")
    if tier is not None and tier not in platform.tiers:
        yield (f"{at(['tier'])}: tier: unknown tier {tier!r} "
               f"(gitops-gen.yaml tiers: {', '.join(sorted(platform.tiers))})")
    for path in _secret_looking(data, []):
        field = ".".join(str(p) for p in path)
        yield (f"{at(path)}: {field}: looks like a plaintext secret; specs must not hold "
               "secrets: reference a Secret key under `secrets:` instead")


def _secret_looking(node: Any, path: list[PathPart]) -> Iterator[list[PathPart]]:
    """Paths of values that look like secrets: by their key (in env/values) or their shape."""
    if isinstance(node, dict):
        for key, value in node.items():
            sub = [*path, key]
            if path and path[0] in ("env", "values") and _SECRET_KEY.search(str(key)) and (
                isinstance(value, str | int | float) and value != ""
            ):
                yield sub
            else:
                yield from _secret_looking(value, sub)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _secret_looking(value, [*path, index])
    elif isinstance(node, str) and _SECRET_VALUE.search(node):
        yield path


def customer_schema(platform: Platform) -> dict[str, Any]:
    path = platform.path(CUSTOMER_SCHEMA)
    try:
        schema: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{CUSTOMER_SCHEMA}: cannot load the customer schema: {exc}") from None
    return schema


def _refuse_escape(root: Path, path: Path, rel: str) -> None:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise InputError(f"{rel}: is a symlink pointing outside the repository; refused")
