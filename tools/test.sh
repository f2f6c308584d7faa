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
exit "$status"
