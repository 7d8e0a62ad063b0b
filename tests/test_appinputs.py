"""Input digests on small trees in temp dirs: what a build reads changes the digest,
nothing else does, and anything uncertain means "rebuild" (None)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitops_gen.appinputs import InputDigests
from gitops_gen.model import Manifest

FILES = {
    "chart/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "chart/templates/cm.yaml": "kind: ConfigMap\n",
    "apps/acme/values.yaml": "greeting: hi\n",
    "apps/acme/kustomization.yaml": "resources:\n  - ns.yaml\n  - ../../base\n",
    "apps/acme/ns.yaml": "kind: Namespace\n",
    "base/kustomization.yaml": "resources: [cm.yaml]\n",
    "base/cm.yaml": "kind: ConfigMap\n",
    "unrelated/notes.txt": "hello\n",
}


def application(**helm: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "customer-acme"},
        "spec": {"sources": [
            {"repoURL": "r", "path": "chart",
             "helm": {"valueFiles": ["$values/apps/acme/values.yaml"], **helm}},
            {"repoURL": "r", "path": "apps/acme"},
            {"repoURL": "r", "ref": "values"},
        ]},
    }


def digest(root: Path, app: dict[str, Any] | None = None) -> str | None:
    manifest = Manifest("acme", app or application(), "argocd/acme.yaml")
    return InputDigests(root, "1.37").digest([manifest])


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


@pytest.mark.parametrize("rel", ["chart/templates/cm.yaml", "apps/acme/values.yaml",
                                 "apps/acme/ns.yaml", "base/cm.yaml"])
def test_every_file_a_build_reads_is_in_the_digest(tree: Path, rel: str) -> None:
    before = digest(tree)
    (tree / rel).write_text((tree / rel).read_text() + "# changed\n")
    assert digest(tree) not in (before, None)


def test_other_files_and_another_tree_with_the_same_files_do_not_change_it(
    tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    before = digest(tree)
    assert before is not None
    (tree / "unrelated/notes.txt").write_text("changed\n")
    (tree / "apps/globex").mkdir()
    assert digest(tree) == before
    copy = tmp_path_factory.mktemp("copy")
    for rel, text in FILES.items():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_text(text)
    assert digest(copy) == before


def test_the_application_and_a_file_parameter_are_in_the_digest(tree: Path) -> None:
    before = digest(tree)
    assert digest(tree, application(releaseName="other")) != before
    with_file = application(fileParameters=[{"name": "x", "path": "/unrelated/notes.txt"}])
    first = digest(tree, with_file)
    (tree / "unrelated/notes.txt").write_text("changed\n")
    assert digest(tree, with_file) not in (first, None)


def test_a_local_chart_dependency_is_in_the_digest(tree: Path) -> None:
    (tree / "lib/templates").mkdir(parents=True)
    (tree / "lib/templates/x.yaml").write_text("a: 1\n")
    (tree / "chart/Chart.yaml").write_text(
        FILES["chart/Chart.yaml"] + "dependencies:\n  - name: lib\n    repository: file://../lib\n")
    before = digest(tree)
    (tree / "lib/templates/x.yaml").write_text("a: 2\n")
    assert digest(tree) not in (before, None)


def test_symlinks_and_paths_outside_the_tree_mean_always_rebuild(tree: Path) -> None:
    (tree / "apps/acme/link.yaml").symlink_to(tree / "base/cm.yaml")
    assert digest(tree) is None
    (tree / "apps/acme/link.yaml").unlink()
    (tree / "apps/acme/kustomization.yaml").write_text("resources: [../../../elsewhere]\n")
    (tree.parent / "elsewhere").mkdir(exist_ok=True)
    assert digest(tree) is None
    (tree / "apps/acme/kustomization.yaml").write_text("resources: [\n")
    assert digest(tree) is None


def overlay_digest(root: Path) -> str | None:
    return InputDigests(root, "1.37").reach_digest(root / "apps/acme")


def test_an_overlay_is_keyed_by_what_kustomize_reads_not_by_its_neighbours(tree: Path) -> None:
    """Helm's values.yaml lies in the overlay's directory; the overlay never reads it."""
    before = overlay_digest(tree)
    assert before is not None
    (tree / "apps/acme/values.yaml").write_text("greeting: changed\n")
    (tree / "apps/acme/notes.txt").write_text("not named\n")
    assert overlay_digest(tree) == before
    for rel in ("apps/acme/ns.yaml", "base/cm.yaml", "apps/acme/kustomization.yaml"):
        (tree / rel).write_text((tree / rel).read_text() + "# changed\n")
        assert overlay_digest(tree) not in (before, None)
        before = overlay_digest(tree)


def test_a_named_file_appearing_in_the_overlay_changes_it(tree: Path) -> None:
    kustomization = tree / "apps/acme/kustomization.yaml"
    kustomization.write_text(f"{FILES['apps/acme/kustomization.yaml']}"
                             "patchesStrategicMerge: [extra.yaml]\n")
    before = overlay_digest(tree)
    (tree / "apps/acme/extra.yaml").write_text("kind: ConfigMap\n")
    assert overlay_digest(tree) not in (before, None)
    before = overlay_digest(tree)
    (tree / "apps/acme/extra.yaml").write_text("kind: Secret\n")
    assert overlay_digest(tree) not in (before, None)


def test_a_generator_file_is_in_the_digest_and_a_missing_one_is_not_told(tree: Path) -> None:
    kustomization = tree / "apps/acme/kustomization.yaml"
    kustomization.write_text(f"{FILES['apps/acme/kustomization.yaml']}"
                             "configMapGenerator: [{name: x, files: [key=extra.txt]}]\n")
    assert overlay_digest(tree) is None
    (tree / "apps/acme/extra.txt").write_text("a\n")
    before = overlay_digest(tree)
    (tree / "apps/acme/extra.txt").write_text("b\n")
    assert overlay_digest(tree) not in (before, None)


def test_a_kustomization_that_may_read_unnamed_files_keys_its_whole_directory(
        tree: Path) -> None:
    kustomization = tree / "apps/acme/kustomization.yaml"
    kustomization.write_text(f"{FILES['apps/acme/kustomization.yaml']}transformers: [t.yaml]\n")
    (tree / "apps/acme/t.yaml").write_text("kind: PatchTransformer\npath: patch.yaml\n")
    before = overlay_digest(tree)
    (tree / "apps/acme/patch.yaml").write_text("kind: ConfigMap\n")  # named by t.yaml only
    assert overlay_digest(tree) not in (before, None)
    before = overlay_digest(tree)
    (tree / "apps/acme/values.yaml").write_text("greeting: changed\n")
    assert overlay_digest(tree) not in (before, None)


def test_an_overlay_file_another_kustomization_names_is_in_the_digest(tree: Path) -> None:
    (tree / "base/kustomization.yaml").write_text("resources: [cm.yaml, ../apps/acme/extra]\n")
    (tree / "apps/acme/extra").mkdir()
    (tree / "apps/acme/extra/kustomization.yaml").write_text("resources: []\n")
    before = overlay_digest(tree)
    (tree / "apps/acme/extra/kustomization.yaml").write_text("resources: [] # x\n")
    assert overlay_digest(tree) not in (before, None)


def test_named_files_of_any_case_and_depth_are_in_the_digest(tree: Path) -> None:
    """Strings naming nothing in a directory are passed over without a stat (by its
    listing): names in capitals, in subdirectories and in `key=file` form still count."""
    kustomization = tree / "apps/acme/kustomization.yaml"
    kustomization.write_text("resources: [ns.yaml, Deployment.yaml, Patches/More.yaml]\n"
                             "configMapGenerator: [{name: x, files: [KEY=Data.TXT]}]\n")
    (tree / "apps/acme/Patches").mkdir()
    for rel in ("apps/acme/Deployment.yaml", "apps/acme/Patches/More.yaml",
                "apps/acme/Data.TXT"):
        (tree / rel).write_text("kind: ConfigMap\n")
    before = overlay_digest(tree)
    for rel in ("apps/acme/Deployment.yaml", "apps/acme/Patches/More.yaml",
                "apps/acme/Data.TXT"):
        assert before is not None
        (tree / rel).write_text("kind: Secret\n")
        assert overlay_digest(tree) not in (before, None), rel
        before = overlay_digest(tree)


def test_a_link_out_named_in_capitals_means_always_rebuild(tree: Path) -> None:
    (tree.parent / "Elsewhere.yaml").write_text("kind: ConfigMap\n")
    (tree / "apps/acme/Linked.yaml").symlink_to(tree.parent / "Elsewhere.yaml")
    (tree / "apps/acme/kustomization.yaml").write_text("resources: [ns.yaml, Linked.yaml]\n")
    assert overlay_digest(tree) is None
    assert digest(tree) is None
