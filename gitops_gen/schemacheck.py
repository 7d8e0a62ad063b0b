"""JSON Schema validation of hand-written YAML, with errors that name file, line and field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from gitops_gen.yamlio import LoadedYaml

if TYPE_CHECKING:  # jsonschema's ~30 ms of imports: only where a file is checked
    from jsonschema import Draft202012Validator, ValidationError


def schema_errors(
    loaded: LoadedYaml, data: Mapping[str, Any], schema: Mapping[str, Any]
) -> list[str]:
    """`file:line: field.path: problem` for every schema violation, in document order."""
    from jsonschema import Draft202012Validator

    return validator_errors(loaded, data, Draft202012Validator(schema))


def validator_errors(
    loaded: LoadedYaml, data: Mapping[str, Any], validator: Draft202012Validator
) -> list[str]:
    """`schema_errors` with a validator built already (one per schema, not per file)."""
    errors = sorted(validator.iter_errors(data), key=_error_order)
    return [_describe(loaded, err) for err in _leaves(errors)]


def _leaves(errors: list[ValidationError]) -> Iterator[ValidationError]:
    for err in errors:
        # anyOf/oneOf: the branch errors say what is wrong; the parent only says "no match"
        yield from (_leaves(sorted(err.context, key=_error_order)) if err.context else [err])


def _error_order(err: ValidationError) -> tuple[str, str]:
    return ("/".join(str(p) for p in err.absolute_path), err.message)


def _describe(loaded: LoadedYaml, err: ValidationError) -> str:
    path = list(err.absolute_path)
    field = ".".join(str(p) for p in path) or "<top>"
    line = loaded.line_of(path)
    where = f"{loaded.display}:{line}" if line else loaded.display
    return f"{where}: {field}: {_problem(err)}"


def _problem(err: ValidationError) -> str:
    # Messages name the schema rule, never echo the offending value: it may be a secret.
    rule = err.validator
    instance: Any = err.instance
    expected: Any = err.validator_value
    schema: Any = err.schema
    if "propertyNames" in err.schema_path:
        return f"key {instance!r} does not match the pattern {schema.get('pattern', '')}"
    if rule == "additionalProperties":
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        return f"unknown field {', '.join(repr(e) for e in extra)}"
    if rule == "required":
        return str(err.message).replace("is a required property", "is required")
    if rule == "type":
        return f"must be of type {_types(expected)}, not {_json_type(instance)}"
    if rule == "pattern":
        return f"does not match the pattern {expected}"
    if rule == "enum":
        return f"must be one of {', '.join(map(str, expected))}"
    if rule in ("maxLength", "minLength", "minimum", "maximum", "minProperties"):
        return f"violates {rule} {expected}"
    return str(err.message)


def _types(value: Any) -> str:
    return " or ".join(value) if isinstance(value, list) else str(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
