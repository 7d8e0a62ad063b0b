"""The one shape of a schema finding, whichever backend found it.

Both backends turn their own error reports into `Problem`s — a path inside the object and
a text from a small vocabulary — and `schema_finding` turns a `Problem` into the `Finding`
a report shows. The vocabulary is what jsonschema-rs and kubeconform can both say:

| problem | from |
|---|---|
| `unknown field "x"` | additionalProperties (one finding per field) |
| `missing required field "x"` | required (one finding per field) |
| `expected integer, got string` | type |
| `value not allowed` | enum, const, a `false` schema |
| `does not match pattern "p"` | pattern |
| `matches none of the allowed forms` | oneOf / anyOf with no match |
| `matches more than one allowed form` | oneOf with several matches |
| `invalid: <backend message>` | anything else (the text then differs per backend) |

Types are JSON types. On the "got" side an integer is a `number`, because kubeconform's Go
decoder cannot tell `2` from `2.0`; `null` is dropped from the "expected" side, since the
Kubernetes strict schemas allow null for every field and saying so helps nobody.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gitops_gen.model import Finding, Manifest

RULE = "schema"
UNKNOWN_KIND_RULE = "schema/unknown-kind"

PathPart = str | int

VALUE_NOT_ALLOWED = "value not allowed"
NO_FORM_MATCHES = "matches none of the allowed forms"
SEVERAL_FORMS_MATCH = "matches more than one allowed form"


@dataclass(frozen=True, order=True)
class Problem:
    """One schema violation: where in the object, and what (from the vocabulary above)."""

    path: tuple[PathPart, ...]
    text: str


def unknown_field(path: Sequence[PathPart], name: str) -> Problem:
    return Problem(tuple(path), f'unknown field "{name}"')


def missing_field(path: Sequence[PathPart], name: str) -> Problem:
    return Problem(tuple(path), f'missing required field "{name}"')


def wrong_type(path: Sequence[PathPart], expected: Iterable[str], got: str) -> Problem:
    wanted = sorted({t for t in expected if t != "null"}) or ["null"]
    return Problem(tuple(path), f"expected {' or '.join(wanted)}, got {got}")


def pattern_mismatch(path: Sequence[PathPart], pattern: str) -> Problem:
    return Problem(tuple(path), f'does not match pattern "{pattern}"')


def invalid(path: Sequence[PathPart], message: str) -> Problem:
    return Problem(tuple(path), f"invalid: {message}")


def json_type(value: Any) -> str:
    """The JSON type of a decoded YAML/JSON value, integers reported as `number`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def to_json(obj: Any) -> str:
    """`obj` as JSON text. YAML timestamps (and any other non-JSON scalar PyYAML makes)
    become strings, and keys become strings: what Kubernetes' Go YAML reader makes of them."""
    return json.dumps(obj, default=str)


def json_compatible(obj: Any) -> Any:
    """`obj` with only JSON types in it (see `to_json`)."""
    return json.loads(to_json(obj))


def dotted(path: Sequence[PathPart]) -> str:
    """`spec.template.spec.containers[0].image`; `<root>` for the object itself.

    Keys that are not plain identifiers (`app.kubernetes.io/name`) are written
    `["app.kubernetes.io/name"]`, so that the path stays unambiguous.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out or "<root>"


def schema_finding(manifest: Manifest, problem: Problem) -> Finding:
    return Finding(
        file=manifest.source,
        line=None,
        customer=manifest.customer,
        rule=RULE,
        message=f"{manifest.ident()}: {dotted(problem.path)}: {problem.text}",
    )


def unknown_kind_finding(manifest: Manifest, kube_version: str) -> Finding:
    return Finding(
        file=manifest.source,
        line=None,
        customer=manifest.customer,
        rule=UNKNOWN_KIND_RULE,
        message=(f"{manifest.ident()}: no schema for apiVersion {manifest.api_version!r} "
                 f"kind {manifest.kind!r} in Kubernetes {kube_version} or the CRD schemas "
                 "(add one under schemas/<group>/<kind>_<version>.json, or skip the kind)"),
    )


def is_skipped(manifest: Manifest, skip_kinds: Collection[str]) -> bool:
    """`Kind` skips every version of a kind; `apiVersion/Kind` (`apps/v1/Deployment`,
    `v1/Service`) only that one: kubeconform's `-skip` notation."""
    if not skip_kinds:
        return False
    return manifest.kind in skip_kinds or f"{manifest.api_version}/{manifest.kind}" in skip_kinds


def findings_for(manifest: Manifest, problems: Iterable[Problem]) -> list[Finding]:
    return [schema_finding(manifest, problem) for problem in sorted(set(problems))]
