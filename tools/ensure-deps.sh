#!/usr/bin/env bash
# Installs the npm dependencies pinned by package-lock.json when they are
# missing or the lock file changed since the last install; otherwise does
# nothing. `npm ci` is not used: npm 11 writes lock files that list rollup's
# native packages for Linux only, and `npm ci` then refuses the lock as out of
# sync. `npm install` honours the same pinned versions, and the check below
# fails if it had to change the lock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stamp=node_modules/.infra-lock-hash
wanted=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
  echo "installing npm dependencies from package-lock.json" >&2
  npm install --no-audit --no-fund --loglevel=error >&2
  if [[ "$(sha256sum package-lock.json | cut -d' ' -f1)" != "$wanted" ]]; then
    echo "package-lock.json does not match package.json; run npm install and commit the lock file" >&2
    exit 1
  fi
  echo "$wanted" > "$stamp"
fi
