#!/usr/bin/env bash
# What a newcomer does first, on a machine that has never seen the project:
# clone the repository, then run the README's plan command with an empty npm
# cache. Fails if the command exits non-zero or if it changed any tracked file
# (a lock file that npm rewrites on install, for example).
#
#   tools/newcomer/fresh-clone-plan.sh [REPOSITORY]   (default: this checkout's HEAD)
set -euo pipefail
source_repo="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$source_repo" "$work/infra"
cd "$work/infra"
export npm_config_cache="$work/npm-cache"
started=$(date +%s%N)
if ! npm run plan -- --stack prod >"$work/plan.out" 2>"$work/plan.err"; then
  echo "fresh clone: 'npm run plan -- --stack prod' failed:" >&2
  tail -n 20 "$work/plan.err" >&2
  exit 1
fi
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
grep -q . "$work/plan.out" || { echo "fresh clone: the plan printed nothing" >&2; exit 1; }
changed=$(git status --porcelain)
if [[ -n "$changed" ]]; then
  echo "fresh clone: the plan command changed tracked files:" >&2
  echo "$changed" >&2
  git diff --stat >&2
  exit 1
fi
echo "fresh clone: plan of prod exited 0 in ${elapsed_ms} ms (npm ci with an empty cache included), git status clean"
