#!/usr/bin/env bash
# The main job, end to end: scaffold a scratch platform repo, onboard customer acme,
# validate the tree (real helm + kustomize builds, strict Kubernetes schemas, policy)
# and show the commit `add` made.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/setup.sh"
set -euo pipefail
scratch="$(mktemp -d "${TMPDIR:-/tmp}/gitops-gen-demo.XXXXXX")"
echo "+ gitops-gen init $scratch/platform"
gitops-gen init "$scratch/platform"
cd "$scratch/platform"
echo "+ gitops-gen add acme --set tier=standard"
gitops-gen add acme --set tier=standard
echo "+ gitops-gen validate"
gitops-gen validate
echo "+ gitops-gen list"
gitops-gen list
echo "+ git show --stat HEAD"
git --no-pager show --stat --format='commit %H%nAuthor: %an <%ae>%n%n    %s%n' HEAD
echo "scratch platform left in $scratch/platform"
