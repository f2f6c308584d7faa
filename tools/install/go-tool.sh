#!/usr/bin/env bash
# Installs one Go-built tool into the shared tools directory, once per version.
# Usage: tools/install/go-tool.sh <module/path/cmd@version> <binary-name>
# The binaries live outside the repository so later runs on the same machine
# reuse them; a stamp file per binary records the version it was built from.
set -euo pipefail
package="$1"
binary="$2"
tools_bin="${INFRA_TOOLS_BIN:-$HOME/.cache/infra-tools/bin}"
stamp="$tools_bin/.$binary.version"
mkdir -p "$tools_bin"
if [[ -x "$tools_bin/$binary" && -f "$stamp" && "$(cat "$stamp")" == "$package" ]]; then
  exit 0
fi
echo "installing $binary from $package (first build is slow; cached in $tools_bin)" >&2
started=$(date +%s)
GOBIN="$tools_bin" GOFLAGS="${GOFLAGS:-} -mod=mod" go install "$package"
echo "$package" > "$stamp"
echo "installed $binary in $(( $(date +%s) - started ))s" >&2
