#!/usr/bin/env bash
# Installs exactly the npm dependencies that package-lock.json pins, with
# `npm ci`, when node_modules is missing or was installed from another lock;
# otherwise does nothing. `npm ci` refuses a lock that disagrees with
# package.json instead of rewriting it, so a stale lock fails here, loudly,
# on every machine. The lock lists the optional native packages of every
# platform (rollup's, for example), so the same file installs unchanged on
# Linux, macOS and Windows; regenerate it with `npm install --package-lock-only`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stamp=node_modules/.infra-lock-hash
wanted=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
  echo "installing npm dependencies with npm ci (package-lock.json)" >&2
  if ! npm ci --no-audit --no-fund --loglevel=error >&2; then
    echo "npm ci failed: if it says package.json and package-lock.json are not in sync, run" >&2
    echo "  npm install --package-lock-only" >&2
    echo "and commit package-lock.json" >&2
    exit 1
  fi
  echo "$wanted" > "$stamp"
fi
