"""The in-process backend: jsonschema-rs, one compiled validator per kind.

The Kubernetes schemas `$ref` into `_definitions.json`; that document goes into a
jsonschema-rs `Registry` under its `$id`, so references resolve in memory. `offline=True`
makes a reference the registry cannot answer an error instead of an HTTP request.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import jsonschema_rs

from gitops_gen.errors import InputError
from gitops_gen.k8s_schemas import DEFINITIONS_ID, SchemaStore
from gitops_gen.model import Finding, Manifest
from gitops_gen.validators import problems as p

Kinds = jsonschema_rs.ValidationErrorKind


class EmbeddedValidator:
    """Validates with jsonschema-rs in this process; no external tool needed."""

    name = "embedded"

    def __init__(self, store: SchemaStore, skip_kinds: Collection[str] = ()) -> None:
        self.store = store
        self.skip_kinds = frozenset(skip_kinds)
        self._registry: jsonschema_rs.Registry | None = None
        self._validators: dict[tuple[str, str], jsonschema_rs.Validator | None] = {}

    def validate(self, manifests: Sequence[Manifest]) -> list[Finding]:
        findings: list[Finding] = []
        for manifest in manifests:
            if p.is_skipped(manifest, self.skip_kinds):
                continue
            found = self.problems(manifest)
            if found is None:
                findings.append(p.unknown_kind_finding(manifest, self.store.version))
            else:
                findings.extend(p.findings_for(manifest, found))
        return sorted(set(findings))

    def problems(self, manifest: Manifest) -> list[p.Problem] | None:
        """What is wrong with one object; None when its kind has no schema."""
        validator = self._validator_for(manifest.api_version, manifest.kind)
        if validator is None:
            return None
        try:
            if validator.is_valid(manifest.obj):  # the common case, and twice as fast
                return []
            errors = list(validator.iter_errors(manifest.obj))
        except ValueError:  # a value JSON has no type for, e.g. a YAML timestamp
            errors = list(validator.iter_errors(p.json_compatible(manifest.obj)))
        return [problem for error in errors for problem in problems_from_error(error)]

    def _validator_for(self, api_version: str, kind: str) -> jsonschema_rs.Validator | None:
        key = (api_version, kind)
        if key not in self._validators:
            schema = self.store.schema_for(api_version, kind)
            self._validators[key] = None if schema is None else self._compile(schema, key)
        return self._validators[key]

    def _compile(self, schema: dict[str, Any], key: tuple[str, str]) -> jsonschema_rs.Validator:
        try:
            return jsonschema_rs.validator_for(schema, registry=self._definitions_registry(),
                                               offline=True)
        except (ValueError, jsonschema_rs.ReferencingError) as exc:
            raise InputError(f"schema for {key[0]} {key[1]} does not compile: {exc}") from exc

    def _definitions_registry(self) -> jsonschema_rs.Registry:
        # Built once, on the first compile: a run with nothing to validate never reads it.
        if self._registry is None:
            self._registry = jsonschema_rs.Registry([(DEFINITIONS_ID, self.store.definitions)])
        return self._registry


def problems_from_error(error: jsonschema_rs.ValidationError) -> list[p.Problem]:
    """One jsonschema-rs error in the shared vocabulary (see `problems`)."""
    path = tuple(error.instance_path)
    match error.kind:
        case Kinds.AdditionalProperties(unexpected=names):
            return [p.unknown_field(path, name) for name in names]
        case Kinds.Required(property=name):
            return [p.missing_field(path, str(name))]
        case Kinds.Type(types=types):
            return [p.wrong_type(path, types, p.json_type(error.instance))]
        case Kinds.Enum() | Kinds.Constant() | Kinds.FalseSchema():
            return [p.Problem(path, p.VALUE_NOT_ALLOWED)]
        case Kinds.Pattern(pattern=pattern):
            return [p.pattern_mismatch(path, pattern)]
        case Kinds.OneOfNotValid() | Kinds.AnyOf():
            return [p.Problem(path, p.NO_FORM_MATCHES)]
        case Kinds.OneOfMultipleValid():
            return [p.Problem(path, p.SEVERAL_FORMS_MATCH)]
        case _:
            return [p.invalid(path, error.message)]
