"""Render the gitops tree from specs with Jinja2 templates.

Two guarantees hold whatever a spec contains:
- every `{{ expression }}` is emitted as a YAML scalar or JSON flow collection (the
  Environment's `finalize`), so a value like "x\\nkind: Secret" stays one string and can
  never add keys or documents; spec strings are data, never template source;
- every rendered file is parsed and written again by `yamlemit`, so the bytes are
  canonical (deterministic, byte-identical across runs) and YAML-1.1 safe for Argo CD.

An output named `*.json` is written as JSON (for tools that read JSON, such as Terraform's
`*.auto.tfvars.json`); JSON has no comments, so its generated-by note is the first key,
`"//"` (which Terraform ignores). A template that renders no document writes no file:
that is how an output is made conditional (on `dns.provider`, say).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import jinja2
import yaml

from gitops_gen.docshapes import Shapes
from gitops_gen.errors import InputError
from gitops_gen.forkpool import map_forked
from gitops_gen.model import RenderedFile
from gitops_gen.platform import (
    CONFIG_FILE,
    GENERATED_MARK,
    JSON_NOTE_KEY,
    TEMPLATE_DIR,
    OutputRule,
    Platform,
)
from gitops_gen.progress import Progress
from gitops_gen.rendercache import RenderCache
from gitops_gen.spec import CustomerSpec
from gitops_gen.yamlemit import dump_documents, json_text


class _LenientLookupStrictOutput(jinja2.ChainableUndefined, jinja2.StrictUndefined):
    """`customer.image.tag | default(x)` works when `image` is absent; printing an
    undefined value still fails, so a typo in a template cannot become an empty string."""


def _finalize(value: Any) -> str:
    if value.__class__ is str:
        return _json_string(value)
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises here
    return json_text(value)


# The strings templates print repeat across customers (a tier's sizes, the registry):
# each is escaped once a process.
_json_string = lru_cache(maxsize=65536)(json_text)


@dataclass
class Renderer:
    platform: Platform
    cache: RenderCache | None = None  # rendercache.py: customers rendered before
    jobs: int = 0  # processes rendering customers (forkpool.py); 0 = one per core

    @cached_property
    def env(self) -> jinja2.Environment:
        return jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.platform.path(TEMPLATE_DIR)),
            undefined=_LenientLookupStrictOutput,
            finalize=_finalize,
            autoescape=False,
            keep_trailing_newline=True,
            # a run renders templates as it found them: not a stat of its file per render
            auto_reload=False,
        )

    def render_customer(self, spec: CustomerSpec) -> list[RenderedFile]:
        if self.cache is not None and (cached := self.cache.get(spec)) is not None:
            return cached
        files = self._render_customer(spec)
        if self.cache is not None:
            self.cache.put(spec, files)
        return files

    def _render_customer(self, spec: CustomerSpec) -> list[RenderedFile]:
        context = customer_context(self.platform, spec)
        header = f"{GENERATED_MARK} from {spec.path}; edit the spec, then run `gitops-gen compile`"
        overrides = spec.data
        rendered = (
            self._render(rule, rule.path_for(spec.name), context, header, spec.name, overrides)
            for rule in self.platform.customer_outputs()
        )
        return [file for file in rendered if file is not None]

    def render_platform(self, fleet: Iterable[CustomerSpec] = ()) -> list[RenderedFile]:
        """Platform-wide files; their templates see every customer of `fleet` as
        `customers` (name, host, namespace, spec), e.g. to list every DNS record."""
        context = {"platform": self.platform.config, "vars": self.platform.config.get("vars", {}),
                   "customers": fleet_context(fleet)}
        header = f"{GENERATED_MARK} from {CONFIG_FILE}; edit it, then run `gitops-gen compile`"
        rendered = (
            self._render(rule, rule.path_for(None), context, header, None, {})
            for rule in self.platform.platform_outputs()
        )
        return [file for file in rendered if file is not None]

    def render_all(self, specs: Iterable[CustomerSpec],
                   fleet: Iterable[CustomerSpec] | None = None,
                   progress: Progress | None = None) -> list[RenderedFile]:
        """The files of `specs`, and the platform-wide files of `fleet` (default: `specs`).
        `progress`: told (customers rendered, of how many not in the cache)."""
        specs = list(specs)
        files = self.render_platform(specs if fleet is None else fleet)
        cached = [self.cache.get(spec) if self.cache is not None else None for spec in specs]
        todo = [spec for spec, hit in zip(specs, cached, strict=True) if hit is None]
        fresh = iter(map_forked(lambda i: self._render_for_cache(todo[i]), len(todo),
                                self.jobs, progress=progress))
        for spec, hit in zip(specs, cached, strict=True):
            if hit is None:
                hit, entry = next(fresh)
                if self.cache is not None:
                    self.cache.put_entry(spec.name, entry)
            files.extend(hit)
        return files

    def _render_for_cache(self, spec: CustomerSpec) -> tuple[list[RenderedFile],
                                                             tuple[str, str] | None]:
        """The customer's files and their render cache entry, both made where it renders
        (in the main process, which takes every worker's results in turn, the entries
        were a third of its samples at 1,000 customers)."""
        files = self._render_customer(spec)
        return files, self.cache.entry(spec, files) if self.cache is not None else None

    def _render(
        self,
        rule: OutputRule,
        path: str,
        context: Mapping[str, Any],
        header: str,
        customer: str | None,
        spec_data: Mapping[str, Any],
    ) -> RenderedFile | None:
        where = f"{TEMPLATE_DIR}/{rule.template}"
        try:
            text = self.env.get_template(rule.template).render(context)
        except jinja2.TemplateSyntaxError as exc:
            message = f"{where}:{exc.lineno}: template syntax error: {exc.message}"
            raise InputError(message) from None
        except jinja2.TemplateNotFound:
            raise InputError(f"{where}: template not found (named in {CONFIG_FILE})") from None
        except jinja2.UndefinedError as exc:
            raise InputError(f"{where}: {exc.message} (rendering {path})") from None
        except UnicodeDecodeError as exc:  # the loader's: this template or one it includes
            line = exc.object[:exc.start].count(b"\n") + 1
            raise InputError(f"{where}:{line}: not valid UTF-8 (byte {exc.start}), or a "
                             "template it includes is not") from None
        docs = _parse_rendered(text, where, path)
        if not docs:
            return None
        if rule.overrides and spec_data.get(rule.overrides):
            docs[0] = deep_merge(docs[0], spec_data[rule.overrides])
        note = header.removeprefix("# ")
        content = _json_file(note, docs, where, path) if rule.is_json else (
            f"# {note}\n{dump_documents(docs)}")
        return RenderedFile(path=path, content=content.encode("utf-8"), customer=customer)


def customer_context(platform: Platform, spec: CustomerSpec) -> dict[str, Any]:
    """What a customer template sees. Sizing/env defaults are the templates' business."""
    return {
        "name": spec.name,
        "namespace": spec.namespace,
        "host": spec.host,
        "spec_file": spec.path,
        "customer": spec.data,
        "tier": spec.tier,
        "platform": platform.config,
        "defaults": platform.config.get("defaults", {}),
        "vars": platform.config.get("vars", {}),
    }


def fleet_context(specs: Iterable[CustomerSpec]) -> list[dict[str, Any]]:
    """What a platform template sees of each customer, by name."""
    return [
        {"name": s.name, "host": s.host, "namespace": s.namespace, "spec": s.data}
        for s in sorted(specs, key=lambda s: s.name)
    ]


# Templates' output, read by PyYAML's safe loader; a customer's file mostly as the last
# customer's file of the same template (docshapes.py), in each rendering process.
_RENDERED = Shapes(yaml.CSafeLoader)


def _parse_rendered(text: str, where: str, path: str) -> list[Any]:
    """The documents `text` holds: YAML mappings, or none at all (no file is written)."""
    try:
        docs = [d for d in _RENDERED.load_all(where, text) if d is not None]
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: renders invalid YAML for {path}: {exc}") from None
    if not all(isinstance(d, dict) for d in docs):
        raise InputError(f"{where}: must render YAML mappings ({path})")
    return docs


def _json_file(note: str, docs: list[Any], where: str, path: str) -> str:
    """One JSON object, its first key the generated-by note (`tree.generated_from` reads
    it on the second line)."""
    if len(docs) != 1 or JSON_NOTE_KEY in docs[0]:
        raise InputError(f"{where}: a .json output must render one mapping without a "
                         f"{JSON_NOTE_KEY!r} key ({path})")
    return json.dumps({JSON_NOTE_KEY: note, **docs[0]}, indent=2, ensure_ascii=True) + "\n"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Override wins; mappings merge key by key; lists and scalars are replaced whole."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def files_by_path(files: Sequence[RenderedFile]) -> dict[str, RenderedFile]:
    out: dict[str, RenderedFile] = {}
    for rendered in files:
        if rendered.path in out:
            raise InputError(f"two templates render the same file {rendered.path}")
        out[rendered.path] = rendered
    return out
