#!/usr/bin/env bash
# The whole test suite, with all of its setup: npm dependencies, the Debian
# validators and servers, and the tools built from the Go module proxy.
# Every tool is required: a missing one fails the run, it is never skipped.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$(date +%s)
tools/ensure-deps.sh
tools/install/system-packages.sh
tools/install/minio.sh
tools/install/actionlint.sh
tools/install/pulumi.sh
echo "setup took $(( $(date +%s) - started ))s" >&2
node_modules/.bin/tsc --noEmit -p .
node_modules/.bin/vitest run "$@"
echo "test suite took $(( $(date +%s) - started ))s" >&2
