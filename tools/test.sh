#!/usr/bin/env bash
# The whole test suite, with all of its setup: npm dependencies, the Debian
# validators and servers, and the tools built from the Go module proxy.
# Every tool is required: a missing one fails the run, it is never skipped.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$(date +%s)
bash tools/ensure-deps.sh
bash tools/install/system-packages.sh
bash tools/install/minio.sh
bash tools/install/actionlint.sh
bash tools/install/pulumi.sh
bash tools/install/traefik.sh
bash tools/install/hcloud-change.sh
bash tools/install/docker-provider.sh
bash tools/install/wireguard-go.sh
bash tools/testbed/docker-engine.sh
# The testbed's images, built once here rather than by several test files at once.
bash tools/testbed/vps-image.sh >/dev/null
bash tools/testbed/images/build.sh >/dev/null
echo "setup took $(( $(date +%s) - started ))s" >&2
node_modules/.bin/tsc --noEmit -p .
# Lint and formatting fail the run as a type error does, but only once the
# tests have run too, so that one run reports everything there is to fix.
checks=0
node_modules/.bin/eslint --max-warnings 0 . || { checks=1; echo "lint failed: npm run lint" >&2; }
node_modules/.bin/prettier --check . >/dev/null || { checks=1; echo "formatting differs: npm run format:check lists the files, npm run format rewrites them" >&2; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
echo "test suite took $(( $(date +%s) - started ))s" >&2
# One plain closing line that any CI can read.
# shellcheck disable=SC2016 # the script is JavaScript; its ${} are not the shell's
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$results" || true
if [ "$status" -eq 0 ] && [ "$checks" -ne 0 ]; then status=1; fi
exit "$status"
