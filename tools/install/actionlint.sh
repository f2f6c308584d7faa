#!/usr/bin/env bash
# Installs actionlint, which tests/workflows.test.ts runs on every workflow in
# .github/workflows. With shellcheck on the PATH (tools/install/system-packages.sh
# installs it) actionlint also checks the shell of every `run:` step.
# v1.7.12 was the newest release on the module proxy when this was pinned.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/go-tool.sh" github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 actionlint
