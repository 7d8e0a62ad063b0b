"""`goyaml.load`'s fast path gives exactly what `yaml.load(..., Loader=GoYamlLoader)` gives
(and `goyaml.load_all` what `yaml.load_all` gives): the same objects (types included) or
the same error, on the bad-input corpus, on what helm and kustomize print for every
platform in this repository, and on YAML made to hit each case the fast path leaves to
the loader.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_gen.goyaml import (
    DOC_SEPARATOR,
    GoYamlLoader,
    _NotPlain,
    _plain_documents,
    _scalars,
    load,
    load_all,
)
from gitops_gen.helm_inprocess import _HELM_DOC_SEPARATOR, split_documents
from tests.conftest import REPO_ROOT
from tests.test_fast_builds import PLATFORMS, platform_apps

CORPUS = REPO_ROOT / "tests" / "corpus"


def outcome(text: str, loader: Any) -> tuple[str, Any]:
    try:
        return "value", typed(loader(text), {})
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        return "error", (type(exc).__name__, str(exc))


def typed(value: Any, seen: dict[int, int]) -> Any:
    """`value` with every scalar's type spelled out (1, 1.0 and True compare equal), and
    a container met again (an alias: shared, maybe recursive) as a reference to it."""
    if isinstance(value, dict | list):
        if id(value) in seen:
            return ("seen", seen[id(value)])
        seen[id(value)] = len(seen)
        if isinstance(value, dict):
            return ("dict", [(typed(k, seen), typed(v, seen)) for k, v in value.items()])
        return ("list", [typed(v, seen) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def reference(text: str) -> Any:
    return yaml.load(text, Loader=GoYamlLoader)


def reference_all(text: str) -> Any:
    return list(yaml.load_all(text, Loader=GoYamlLoader))


def safe_fast(text: str) -> Any:
    return load_all(text, yaml.CSafeLoader)


def safe_reference(text: str) -> Any:
    return list(yaml.load_all(text, Loader=yaml.CSafeLoader))


def assert_same(text: str) -> None:
    assert outcome(text, load) == outcome(text, reference), text
    assert outcome(text, load_all) == outcome(text, reference_all), text
    # the fast path with PyYAML's own YAML 1.1 types, as render.py reads templates' output
    assert outcome(text, safe_fast) == outcome(text, safe_reference), text


EDGE_CASES = [
    "", "# only a comment\n", "---\n", "...\n", "a: 1\n", "[1, 2]\n", "plain\n", "'quoted'\n",
    # Go's YAML 1.1 scalars
    "b: [y, Y, yes, n, NO, on, Off, true, False, 'y', \"on\", ~, null, Null, '']\n",
    "i: [0, -0, +1, 0x1F, 0o17, 017, 0b101, 1_000, -0x_1, 0999, 1:30, 0b]\n",
    "f: [1.5, -.5, 1e3, 1E-3, .inf, -.Inf, .nan, 1_000.5, 6.8523015e+5, 1., '1.5', 0.]\n",
    "t: [2024-01-01, 2001-12-14t21:59:43.10-05:00, =, <<x]\n",
    "k: {1: a, true: b, ~: c, 1.5: d, '1': e}\n",
    "k: {1: a, true: b, 1.0: c, '1': d, 0: e, n: f}\n", "k: {1: &a a, on: *a, 1e3: x}\n",
    "k: {~: &a a}\n", "k: {2024-01-01: a, !!timestamp 2024-01-01: b}\n",
    "dup: 1\ndup: 2\nother: 3\n",
    "block: |\n  a\n  b\nfold: >-\n  c\n  d\nkeep: |+\n  e\n\n",
    "u: \"\\u00e9\\t\\x41\"\ne: é\n",
    "nested: {a: [1, {b: [c, {d: e}]}], f: []}\nempty: {}\n",
    "? [complex]\n: key\n",
    "? {a: 1}\n: key\n",
    "anchor: &a 1\nalias: *a\n",
    "list: &l [1]\nagain: *l\n",
    "base: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n",
    "<<: {a: 1}\n",
    "tagged: !!str 1\n", "tagged: !!int '1'\n", "tagged: !custom x\n", "tagged: ! 12\n",
    "set: !!set {a, b}\n", "bin: !!binary aGk=\n", "ts: !!timestamp 2024-01-01\n",
    "%YAML 1.1\n---\na: 1\n", "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n",
    "a: 1\n--- \nb: 2\n", "--- a\n--- b\n",
    "a: [1, 2\n", "a: b: c\n", "\ta: 1\n", "a:\n  - 1\n - 2\n", "'unterminated\n",
    "key: value\n  bad: indent\n", "- a\nb: c\n", "a: @x\n", "x: \x07\n",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases(text: str) -> None:
    assert_same(text)


# (a key as YAML writes it, the JSON key Kubernetes' reader makes of it: sigs.k8s.io/yaml's
# convertToJSONableObject, floats by Go's FormatFloat(key, 'g', -1, 32))
GO_KEYS = [
    ("1", "1"), ("0x1F", "31"), ("-017", "-15"), ("on", "true"), ("n", "false"), ("'on'", "on"),
    ("1.5", "1.5"), ("1e3", "1000"), ("123456.0", "123456"), ("1e6", "1e+06"),
    ("1234567.0", "1.234567e+06"), ("0.0001", "0.0001"), ("0.00001", "1e-05"),
    ("3.14159265", "3.1415927"), ("-2.5e-7", "-2.5e-07"), ("-0.0", "-0"), (".inf", ".inf"),
    ("-.Inf", "-.inf"), (".nan", ".nan"), ("1e39", ".inf"), ("2024-01-01", "2024-01-01"),
]


@pytest.mark.parametrize(("key", "expected"), GO_KEYS)
def test_keys_are_what_kubernetes_makes_of_them(key: str, expected: str) -> None:
    assert load(f"{{{key}: v}}\n") == {expected: "v"}  # the fast path
    assert reference(f"{{{key}: &a v}}\n") == {expected: "v"}  # the loader (an anchor)


def test_a_null_key_is_an_error_as_for_argo_cd() -> None:
    for text in ("{~: v}\n", "{~: &a v}\n", "a: {b: 1, null: 2}\n"):
        with pytest.raises(yaml.YAMLError, match="a mapping key that is null"):
            load(text)


@pytest.mark.parametrize("depth", [200, 990, 5000])
def test_deep_nesting(depth: int) -> None:
    """Near or past the recursion limit, and past libyaml's depth limit."""
    assert_same("a: " + "[" * depth + "]" * depth + "\n")
    assert_same("a:\n" + "".join(" " * i + "- \n" for i in range(depth)))


def test_the_corpus() -> None:
    texts = []
    for case_file in sorted(CORPUS.glob("*.yaml")):
        texts.append(case_file.read_text("utf-8"))
        for content in (yaml.safe_load(texts[-1]).get("files") or {}).values():
            if isinstance(content, str):
                texts.append(content)
    assert len(texts) > 60
    for text in texts:
        assert_same(text)
        for chunk in DOC_SEPARATOR.split(text):
            assert_same(chunk)


def tool_outputs(root: Path) -> list[str]:
    """What helm and kustomize print for the platform's customers (a few of them)."""
    from gitops_gen.build import _helm_command, _read_application, _resolve_source
    from gitops_gen.procs import run
    from gitops_gen.toolchain import find_toolchain

    tools = find_toolchain({})
    outputs = []
    for customer, manifests in sorted(platform_apps(root).items())[:3]:
        for manifest in manifests:
            app = _read_application(root, customer, manifest.obj, tools, "1.37",
                                    manifest.source)
            for source in app.sources:
                resolved = _resolve_source(app, source)
                if resolved is None:
                    continue
                kind, path = resolved
                if kind == "helm":
                    cmd = _helm_command(app, source.get("helm") or {}, path, path)
                    outputs.append(run(cmd, cwd=path).stdout)
                else:
                    outputs.append(run([*tools.kustomize_cmd, str(path)], cwd=root).stdout)
    return outputs


@pytest.mark.parametrize("root", PLATFORMS, ids=lambda p: p.name)
def test_what_the_tools_print(root: Path) -> None:
    outputs = tool_outputs(root)
    assert sum(len(DOC_SEPARATOR.split(text)) for text in outputs) > 5
    for text in outputs:
        assert_same(text)
        for chunk in DOC_SEPARATOR.split(text):
            assert_same(chunk)
            try:
                _plain_documents(chunk, _scalars(GoYamlLoader))
            except _NotPlain:
                pytest.fail(f"the fast path leaves this to the loader:\n{chunk}")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab1.-:#'\"[]{},&*!|>? \n\t~yYnN0xe+_<=", max_size=30))
def test_arbitrary_text(text: str) -> None:
    assert_same(text)


@settings(max_examples=20000, deadline=None)
@given(st.text(alphabet="-\n \ta\r\u00a0\x1c\u2028#", max_size=40))
def test_helm_document_split(text: str) -> None:
    """helm_inprocess.split_documents is the regex split it replaces."""
    assert split_documents(text) == _HELM_DOC_SEPARATOR.split(text)
