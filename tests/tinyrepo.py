"""A tiny chart repository for build tests: a chart, the acme overlay, and the
Application gitops-gen generates for them (tests/test_build.py, test_fast_builds.py;
the `repo` fixture in conftest.py writes it)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

REPO_URL = "https://git.example.com/platform/gitops.git"

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "values.yaml": "greeting: hello\nreplicas: 1\n",
    "templates/configmap.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-config
        data:
          greeting: {{ .Values.greeting | quote }}
          replicas: {{ .Values.replicas | quote }}
          namespace: {{ .Release.Namespace }}
          kube: {{ .Capabilities.KubeVersion.Version | quote }}
        """,
    "templates/clusterrole.yaml": """\
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: {{ .Release.Name }}-reader
        rules: []
        """,
}

OVERLAY = {
    "kustomization.yaml": """\
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: customer-acme
        resources:
          - namespace.yaml
          - quota.yaml
        """,
    "namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: customer-acme\n",
    "quota.yaml": """\
        apiVersion: v1
        kind: ResourceQuota
        metadata:
          name: quota
        spec:
          hard:
            pods: "10"
        """,
    "values.yaml": "greeting: hi from acme\n",
}


def application(customer: str = "acme", **helm: Any) -> dict[str, Any]:
    """The multi-source Application gitops-gen generates (docs/architecture.md)."""
    helm_opts = {
        "releaseName": customer,
        "valueFiles": [f"$values/gitops/apps/customer-{customer}/values.yaml"],
        **helm,
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"customer-{customer}", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": f"customer-{customer}",
            },
            "sources": [
                {"repoURL": REPO_URL, "targetRevision": "main", "path": "gitops/chart",
                 "helm": helm_opts},
                {"repoURL": REPO_URL, "targetRevision": "main",
                 "path": f"gitops/apps/customer-{customer}"},
                {"repoURL": REPO_URL, "targetRevision": "main", "ref": "values"},
            ],
        },
    }  # fmt: skip


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
