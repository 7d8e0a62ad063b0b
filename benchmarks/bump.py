"""bump-image across a fleet, end to end (edit tag lines, compile, validate, commit).

    python benchmarks/bump.py [CUSTOMERS]      # default 1000

Baseline in the same run: `compile` alone after the same edit (render + write, no
build or validation), so the ratio shows what validation costs on top.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet import byte_compile, gitops_gen, machine, make_platform, timed


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    byte_compile()
    with tempfile.TemporaryDirectory(prefix="gitops-gen-bench-") as tmp:
        root = make_platform(Path(tmp) / "platform", customers)
        tags = iter(f"2.0.{i}" for i in range(100))

        bump = timed(lambda: gitops_gen("bump-image", next(tags), cwd=root), runs=3)

        def edit_and_compile() -> None:
            config = root / "gitops-gen.yaml"
            text = config.read_text()
            start = text.index('  tag: "') + len('  tag: "')
            end = text.index('"', start)
            config.write_text(text[:start] + next(tags) + text[end:])
            gitops_gen("compile", cwd=root)

        floor = timed(edit_and_compile, runs=3)
    print(f"bump-image, {customers} customers ({machine()}), median of 3:")
    print(f"  bump-image end to end   {bump:7.2f} s")
    print(f"  baseline: edit+compile  {floor:7.2f} s   (bump = {bump / floor:.1f}x)")


if __name__ == "__main__":
    main()
