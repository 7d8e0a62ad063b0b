"""Schema validation backends: every object against its Kubernetes or CRD schema.

Two backends, one contract: `validate(manifests)` returns sorted `Finding`s, the same ones
whichever backend ran (see `problems` for the shared vocabulary).

- `embedded`: jsonschema-rs in process; always available.
- `kubeconform`: the kubeconform binary, for teams that want its verdict; optional.

`auto` picks kubeconform when it is on PATH, else the embedded backend.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Collection, Sequence
from typing import Literal, Protocol

from gitops_gen.errors import InputError
from gitops_gen.k8s_schemas import SchemaStore
from gitops_gen.model import Finding, Manifest
from gitops_gen.validators.embedded import EmbeddedValidator
from gitops_gen.validators.kubeconform import EXECUTABLE, KubeconformValidator

BackendName = Literal["auto", "embedded", "kubeconform"]


class SchemaValidator(Protocol):
    """Checks objects against their schemas; problems come back as findings, sorted."""

    name: str

    def validate(self, manifests: Sequence[Manifest]) -> list[Finding]: ...


BackendFactory = Callable[[SchemaStore, Collection[str]], SchemaValidator]

BACKEND_BY_NAME: dict[str, BackendFactory] = {
    EmbeddedValidator.name: EmbeddedValidator,
    KubeconformValidator.name: KubeconformValidator,
}


def select_backend(name: BackendName, store: SchemaStore,
                   skip_kinds: Collection[str]) -> SchemaValidator:
    """The backend called `name`; `auto` = kubeconform when on PATH, else embedded.

    Asking for kubeconform when it is not installed is an `InputError` saying how to get it.
    """
    if name == "auto":
        name = "kubeconform" if shutil.which(EXECUTABLE) else "embedded"
    factory = BACKEND_BY_NAME.get(name)
    if factory is None:
        raise InputError(f"unknown validation backend {name!r}; "
                         f"choose one of: auto, {', '.join(sorted(BACKEND_BY_NAME))}")
    return factory(store, skip_kinds)


__all__ = ["BACKEND_BY_NAME", "BackendName", "SchemaValidator", "select_backend"]
