#!/usr/bin/env bash
# The offline plan: `npm run plan -- --stack prod [--json|--mermaid] [-c key=value]`.
# Installs the npm dependencies first if needed; needs no cloud account and no Pulumi CLI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/ensure-deps.sh"
exec "$root/node_modules/.bin/tsx" "$root/tools/plan.ts" "$@"
