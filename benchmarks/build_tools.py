"""How long one customer build costs with each way of running the tools.

    python benchmarks/build_tools.py [runs]

Compares, on the same tiny chart and overlay: `helm template` as one process per build
(what build.py does, as Argo CD does), `kubectl kustomize` as one process per build, and,
if `helm_python` (PyPI helm-python-sdk) is importable, an in-process render of a chart
loaded once. Process start-up dominates the first two; the third shows what it costs.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gitops_gen.procs import run
from gitops_gen.toolchain import find_toolchain

FILES = {
    "chart/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "chart/values.yaml": "greeting: hello\n",
    "chart/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    ),
    "overlay/kustomization.yaml": "namespace: customer-a\nresources:\n  - cm.yaml\n",
    "overlay/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
}


def ms_per_call(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm up: page cache, lazy imports
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) * 1000 / runs


def main(runs: int) -> None:
    tools = find_toolchain({})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in FILES.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        chart, overlay = root / "chart", root / "overlay"
        helm_cmd = [str(tools.helm), "template", ".", "--name-template", "a", "-n", "customer-a"]
        kustomize = f"{Path(tools.kustomize_cmd[0]).name} {tools.kustomize_cmd[1]} (process)"
        timings = {
            "helm template (process)": ms_per_call(lambda: run(helm_cmd, cwd=chart), runs),
            kustomize: ms_per_call(lambda: run([*tools.kustomize_cmd, str(overlay)]), runs),
        }
        try:
            from helm_python import Chart  # type: ignore[import-not-found]
        except ImportError:
            print("helm_python not importable: in-process render skipped")
        else:
            loaded = Chart.load(chart)
            timings["helm-python-sdk render (in-process)"] = ms_per_call(
                lambda: loaded.render({}, name="a", namespace="customer-a"), runs
            )
    fastest = min(timings.values())
    print(f"{runs} runs each; {tools.versions}")
    for label, ms in timings.items():
        print(f"{label:40} {ms:8.2f} ms/build  {ms / fastest:7.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
