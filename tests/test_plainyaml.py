"""plainyaml.py reads what ruamel reads, or nothing: generated texts in its subset and
just outside it, and specs through the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_gen.plainyaml import plain_mapping
from gitops_gen.yamlio import parse_mapping, to_plain
from tests.conftest import cli

# tokens plainyaml takes, and (drawn now and then) ones next to them that it must leave
KEYS = ["name", "tier", "image", "tag", "pinned", "a_b", "x.y", "k-1", "_k", "yes", "On"]
ODD_KEYS = ["true", "True", "null", "tRUE", "1", "0x1", "a b", "k:", "é", "~", "<<"]
VALUES = ["acme", "v1.2.3", "registry.io/app", "a_b-c", "True", "true", "FALSE", "null",
          "Null", "~", "42", "-7", "123456789012345678", "'x'", "'#'", '"x y"', '""',
          '"a#b"', "a#b", "x-"]
ODD_VALUES = ["tRUE", "yes", "No", "on", "y", "nUll", "0", "012", "1_000", "0x1F", "0o17",
              "1.5", ".inf", "1e3", "2001-12-14", "'it''s'", '"a\\tb"', "a #b", "-",
              "- x", "[a]", "{a: 1}", "&a x", "*a", "!!str 1", "a: b", "x\ty", "ü", "|",
              ">", "'a", '"a', "1234567890123456789", ""]
INDENTS = ["  ", "  ", "    ", "   ", " "]
ODD_INDENTS = ["\t", ""]
EXTRAS = ["", "", "  # comment", " #c", "   "]
ODD_EXTRAS = ["#no-space", " # é", "\t"]


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Spec-like documents: nested `key: value` lines, comments and blank lines, mostly
    with tokens inside plainyaml's subset, now and then one just outside it or a line
    indented off by a space."""

    def pick(usual: list[str], odd: list[str]) -> str:
        return draw(st.sampled_from(odd if draw(st.integers(0, 24)) == 0 else usual))

    lines: list[str] = []

    def mapping(indent: str, depth: int) -> None:
        for _ in range(draw(st.integers(0 if depth and draw(st.booleans()) else 1, 4))):
            if draw(st.integers(0, 9)) == 0:
                lines.append(draw(st.sampled_from(["", "# note", "  # note", "   "])))
            key = pick(KEYS, ODD_KEYS)
            if depth < 4 and draw(st.integers(0, 2)) == 0:
                lines.append(f"{indent}{key}:{pick(EXTRAS, ODD_EXTRAS)}")
                mapping(indent + pick(INDENTS, ODD_INDENTS), depth + 1)
                continue
            lines.append(f"{indent}{key}: {pick(VALUES, ODD_VALUES)}{pick(EXTRAS, ODD_EXTRAS)}")
            if draw(st.integers(0, 30)) == 0:  # a sibling off by a space
                lines.append(f"{indent} {pick(KEYS, ODD_KEYS)}: x")

    mapping(pick([""], [" "]), 0)
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


def typed(value: Any) -> Any:
    """`value` with every scalar's type beside it: 1 and True, 0 and ScalarInt differ."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    return (type(value).__name__, value)


@settings(max_examples=1500, deadline=None)
@given(texts())
def test_what_it_reads_ruamel_reads_the_same(text: str) -> None:
    fast = plain_mapping(text)
    if fast is None:
        return
    assert typed(to_plain(parse_mapping(text, "spec.yaml").data)) == typed(fast), text


def test_it_takes_the_usual_specs_and_leaves_the_rest() -> None:
    spec = 'name: acme  # the first\ntier: small\nimage:\n  tag: "1.4.2"\n  pinned: true\n'
    assert plain_mapping(spec) == {"name": "acme", "tier": "small",
                                   "image": {"tag": "1.4.2", "pinned": True}}
    for other in ["", "# only a comment\n", "a:\n", "a: 0\n", "a: yes\n", "a: 1.5\n",
                  "a:\n  - b\n", "a: [b]\n", "a: b\na: c\n", "a:\n  b: c\n   d: e\n",
                  " a: b\n", "a: b\n---\n", "a: 'x'y\n", "a:\tb\n", "a: ü\n"]:
        assert plain_mapping(other) is None, other


def test_a_duplicate_key_is_still_refused_with_its_line(platform: Path) -> None:
    """A spec outside the subset still gets ruamel's message with its line: here a
    duplicate key, which plainyaml leaves to it."""
    (platform / "customers/acme.yaml").write_text("name: acme\ntier: small\ntier: large\n")
    result = cli("validate", cwd=platform)
    assert result.code == 2
    assert 'customers/acme.yaml:3: duplicate key: "tier" appears more than once' in result.err


def test_a_spec_it_reads_still_gets_errors_with_lines(platform: Path) -> None:
    """A spec inside the subset that fails a check is read again by ruamel for the
    message: the line is there."""
    (platform / "customers/acme.yaml").write_text("name: acme\ntier: huge\n")
    result = cli("validate", cwd=platform)
    assert result.code == 2
    assert "customers/acme.yaml:2: tier: unknown tier 'huge'" in result.err
