"""`docshapes.Shapes.load` gives exactly what `goyaml.load` gives (the same objects, types
included, or the same error) for a document read after another of the same kind, and
takes documents from a shape where it may: on real chart output, on documents made to
put every kind of token in every kind of place, and on those a shape must not serve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_gen.docshapes import Shapes, documents
from gitops_gen.goyaml import load, load_all
from tests.test_fast_builds import PLATFORMS
from tests.test_goyaml_fast import outcome, tool_outputs

# Every place a scalar can sit: block mapping values and sequence items, on the key's
# line or the next, and flow mapping values and sequence items on one line (slots:
# SLOT_PLACES; in flow context, quoted ones only), and places that are not slots (a flow
# collection over lines, before a comment, in a block scalar, a multi-line plain scalar,
# a key); a comment line, which may change (COMMENT_PLACES), and one that is a block
# scalar's text.
TEMPLATE = """\
# Source: chart/templates/x.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: {0}
  labels:
    a: {1}
    b: "{2}"
data:
  k: {3}
  list:
    - {4}
    - x: {5}
  flow: {{a: {6},
    b: {7}}}
  next:
    {8}
  commented: {9} # note
  block: |
    {10}
  multi: word
    {11}
  k{12}: key
  quoted: {{"k": {15}, "n": [{16}, "x"], "m": {{"o": {17}}}}}
  # a comment {13}
  more: |
    # in a block scalar {14}
"""
SLOTS = 18
SLOT_PLACES = {0, 1, 2, 3, 4, 5, 8, 15, 16, 17}
COMMENT_PLACES = {13}


def read(shapes: Shapes, text: str) -> tuple[str, Any]:
    return outcome(text, lambda t: shapes.load("x", t))


def assert_read_alike(first: str, second: str) -> Shapes:
    """`second`, read after `first` by one Shapes, as `load` reads it alone."""
    shapes = Shapes()
    assert read(shapes, first) == outcome(first, load), first
    assert read(shapes, second) == outcome(second, load), second
    return shapes


# tokens every place of TEMPLATE reads (so that the first document becomes a shape)
PLAIN = st.sampled_from(["x", "y", "1", "-1", "on", "~", "1.5", "a:b", "http://x", "'q'",
                         '"d"', "''", "0x1F", "2024-01-01"])
# and anything else
TOKENS = st.one_of(
    PLAIN,
    st.sampled_from(["null", ".inf", "0o17", '""', "1e3", "a b", "a #b", "x:", "-", "- x",
                     "[x]", "{x: 1}", "&a x", "*a", "!t x", "|", ">", "@x", "`x", "%x", "?",
                     "? x", "'a''b'", '"a\\"b"', '"\\t"', "é", "\u2028", "\x85", "\r",
                     "a\nb", "x # c", "'a' b", '"a" b', "a: b", "\x07", "\ufeff", "\t",
                     "é ü", "\U0001f600"]),
    st.text(alphabet="ab1.-:#'\"[]{},&*!|>? \n\t~yn0xe+_<=%@`", max_size=8))


@settings(max_examples=3000, deadline=None)
@given(st.lists(PLAIN, min_size=SLOTS, max_size=SLOTS),
       st.lists(st.one_of(st.none(), TOKENS), min_size=SLOTS, max_size=SLOTS))
def test_any_tokens_in_the_slots_read_as_load_reads_them(
        first: list[str], changes: list[str | None]) -> None:
    second = [old if new is None or where not in SLOT_PLACES | COMMENT_PLACES else new
              for where, (old, new) in enumerate(zip(first, changes, strict=True))]
    assert_read_alike(TEMPLATE.format(*first), TEMPLATE.format(*second))


@settings(max_examples=1000, deadline=None)
@given(st.lists(PLAIN, min_size=SLOTS, max_size=SLOTS), st.integers(0, SLOTS - 1), TOKENS)
def test_one_token_changed(tokens: list[str], where: int, token: str) -> None:
    changed = list(tokens)
    changed[where] = token
    assert_read_alike(TEMPLATE.format(*tokens), TEMPLATE.format(*changed))


def test_a_document_with_new_names_comes_from_its_shape() -> None:
    plain = ["acme", "x", "y", "1", "a", "b", "c", "d", "e", "f", "g", "h", "key", "x", "y",
             '"acme-db"', "'u'", '""']
    names = ["globex", "on", "z", "'2'", '"b"', "0x1F", "c", "d", "e", "f", "g", "h", "key",
             "from globex.yaml", "y", '"globex-db"', '"v, w]"', "'x: #y'"]
    shapes = assert_read_alike(TEMPLATE.format(*plain), TEMPLATE.format(*names))
    assert shapes.reused == 1
    value = load(TEMPLATE.format(*names))
    assert value["metadata"]["name"] == "globex" and value["data"]["list"][1] == {"x": 0x1F}
    assert value["data"]["quoted"] == {"k": "globex-db", "n": ["v, w]", "x"],
                                       "m": {"o": "x: #y"}}


@pytest.mark.parametrize("where", [6, 7, 9, 10, 11, 12, 14, 15, 16, 17])
def test_a_token_that_is_not_a_slot_means_reading_in_full(where: int) -> None:
    tokens = ["a"] * SLOTS
    changed = list(tokens)
    changed[where] = "b"
    shapes = assert_read_alike(TEMPLATE.format(*tokens), TEMPLATE.format(*changed))
    assert shapes.reused == 0


@pytest.mark.parametrize("first", [
    "a: x\nb: y\na: z\n",  # a repeated key: the slot of the first `a` is not what counts
    "a: x\r\nb: y\n",  # a line break Python and YAML count alike only as `\n`
    "a: x\x85b: y\n",
    "\ufeffa: x\nb: y\n",
    "é: x\nb: y\n",  # columns: only ASCII lines are slots
])
def test_documents_never_used_as_shapes(first: str) -> None:
    second = first.replace("x", "q")
    shapes = assert_read_alike(first, second)
    assert shapes.reused == 0 or "é" in first


def test_each_read_is_a_value_of_its_own() -> None:
    shapes = Shapes()
    text = "metadata:\n  name: a\n  labels: {x: z}\nlist: [1]\n"
    first = shapes.load("x", text)
    first["metadata"]["labels"]["x"] = "changed"
    first["list"].append(2)
    second = shapes.load("x", text.replace("name: a", "name: b"))
    assert second == {"metadata": {"name": "b", "labels": {"x": "z"}}, "list": [1]}
    assert shapes.reused == 1


def test_reads_of_one_shape_share_their_unchanged_scalars() -> None:
    """Containers are each read's own, the strings in them the shape's: a build keeps
    every customer's objects, and a copy of each string (tried: copies read back from
    marshal bytes) made a worker's renders a quarter larger in the main process."""
    shapes = Shapes()
    text = "metadata:\n  name: a\n  labels: {team: platform-engineering}\n"
    first = shapes.load("x", text)
    second = shapes.load("x", text.replace("name: a", "name: b"))
    assert shapes.reused == 1 and second["metadata"]["name"] == "b"
    assert second["metadata"] is not first["metadata"]
    [key] = second["metadata"]["labels"]
    assert second["metadata"]["labels"]["team"] is first["metadata"]["labels"]["team"]
    assert key is next(iter(first["metadata"]["labels"]))


@pytest.mark.parametrize("root", PLATFORMS, ids=lambda p: p.name)
def test_what_the_tools_print(root: Path) -> None:
    """Every document of the platforms' helm and kustomize output, read in turn by one
    Shapes as a build reads them, as `load` reads it; most come from shapes."""
    shapes, total = Shapes(), 0
    for text in tool_outputs(root):
        for _, chunk, kind in documents(text):
            total += 1
            assert outcome(chunk, lambda t, k=kind: shapes.load(k, t)) == outcome(chunk, load)
    assert total > 5 and shapes.reused > 0


def test_documents_of_one_kind_with_other_lines_have_shapes_of_their_own() -> None:
    shapes = Shapes()
    short, longer = "a: 1\nb: x\n", "a: 1\nb: x\nc: [2]\n"
    for text in (short, longer, short.replace("x", "y"), longer.replace("x", "z")):
        assert read(shapes, text) == outcome(text, load)
    assert shapes.reused == 2


def test_tiers_taking_turns_each_keep_their_shape() -> None:
    """Documents of one kind and length that differ in a line with no slot (a flow
    mapping: the tier's resources) alternate, as customers of three tiers do: after one
    of each, every document comes from the shape of its tier, read as in full."""
    shapes = Shapes()
    tiers = ['{"cpu": "100m"}', '{"cpu": "1", "memory": "1Gi"}', "{}"]
    for number in range(12):
        text = f"name: c{number}\nresources: {tiers[number % 3]}\nreplicas: {number}\n"
        assert read(shapes, text) == outcome(text, load)
    assert shapes.reused == 9


@pytest.mark.parametrize(("first", "second", "reused"), [
    ("# from acme.yaml\na: 1\n", "# from globex.yaml\na: 1\n", True),
    ("a: 1\n  # x\nb: 2\n", "a: 1\n  # y é\nb: 2\n", True),
    # the same comment, indented: after a block scalar, it would be the scalar's text
    ("a: |\n  text\nb: 1\n# c\n", "a: |\n  text\nb: 1\n  # c\n", False),
    ("a: |\n  text\n# c\nb: 1\n", "a: |\n  text\n  # c\nb: 1\n", False),
    ("a: 1\n# c\n", "a: 1\n# c\x85b: 2\n", False),  # a NEL ends the comment's line
    ("a: 1\n# c\n", "a: 1\n# \x07\n", False),  # not printable: an error, as in full
    ("a: [1,\n  # c\n  2]\n", "a: [1,\n  # d\n  2]\n", True),
    ("a: '1\n  # c\n  2'\n", "a: '1\n  # d\n  2'\n", False),  # a quoted scalar's text
])
def test_comment_lines(first: str, second: str, reused: bool) -> None:
    shapes = assert_read_alike(first, second)
    assert shapes.reused == reused


def test_load_all_reads_files_as_goyaml_load_all(tmp_path: Path) -> None:
    shapes = Shapes(yaml.CSafeLoader)
    texts = ["a: y\nb: 1\n", "a: n\nb: 2\n", "", "a: 1\n---\nb: 2\n", "a: [\n"]
    for text in texts:
        for data in (text, text.encode()):
            assert outcome(data, lambda t: shapes.load_all("k", t)) == outcome(
                data, lambda t: load_all(t, yaml.CSafeLoader))
    assert shapes.reused == 3  # the first file again (as bytes), and the second twice


def test_shapes_of_many_lengths_are_bounded() -> None:
    shapes = Shapes()
    for length in range(1, 1200):
        text = "".join(f"k{i}: v\n" for i in range(length))
        assert shapes.load("x", text) == {f"k{i}": "v" for i in range(length)}
    assert 0 < len(shapes._shapes) <= 512
    assert shapes.load("x", "k0: w\n" + "".join(f"k{i}: v\n" for i in range(1, 1199)))["k0"] == "w"
    assert shapes.reused == 1


def test_another_loader_reads_as_that_loader() -> None:
    shapes = Shapes(yaml.CSafeLoader)
    for text in ("a: y\n", "a: n\n", "a: 2024-01-01\n", "- [\n"):
        assert outcome(text, lambda t: shapes.load("k", t)) == outcome(
            text, lambda t: yaml.load(t, yaml.CSafeLoader))
