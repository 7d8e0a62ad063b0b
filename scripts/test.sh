#!/usr/bin/env bash
# The whole gate, as CI runs it: lint, types, then the test suite against real git,
# helm, kustomize, pre-commit and Kubernetes schemas. Extra args go to pytest.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/setup.sh"
set -euo pipefail
cd "$repo"
ruff check gitops_gen tests benchmarks
mypy
pytest "$@"
