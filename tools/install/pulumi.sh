#!/usr/bin/env bash
# Builds the Pulumi engine that tests/engine runs, from the Go module proxy, into
# the shared tools directory (outside the repository, like go-tool.sh):
#   pulumi                         CLI, same version as the @pulumi/pulumi npm SDK
#   pulumi-language-nodejs         nodejs language host
#   pulumi-resource-pulumi-nodejs  launcher the engine starts for dynamic providers
# The program runs its host commands through its own dynamic provider
# (components/remote/ssh-command.ts), so no command provider is built.
# Each binary has a stamp file naming what it was built from; a later run with
# the same versions reuses it. Usage: tools/install/pulumi.sh
set -euo pipefail

readonly PULUMI_VERSION=v3.248.0
# pulumi-language-nodejs moved into its own module (sdk/nodejs/cmd/pulumi-language-nodejs/v3)
# after sdk/v3 v3.68.0, and the module proxy serves no version of that module:
#   go list -m github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@v3.248.0
#   -> 403 Forbidden, "This module version is not available."
# v3.68.0 is the last sdk/v3 release that still carries the language host, so it
# is built from there. The host starts node on @pulumi/pulumi/cmd/run from the
# program's node_modules, so the SDK code that runs is still 3.248.0. It reads
# runtime options (typescript, nodeargs) only from its command line, where the
# 3.248 engine no longer puts them, so Pulumi.yaml's runtime options are ignored.
readonly LANGUAGE_HOST_SDK_VERSION=v3.68.0

tools_bin="${INFRA_TOOLS_BIN:-$HOME/.cache/infra-tools/bin}"
mkdir -p "$tools_bin"

# Sets GONOSUMDB and GOFLAGS, and defines copy_replaces.
# shellcheck source=tools/install/go-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-build.sh"

work_dirs=()
cleanup() { if ((${#work_dirs[@]})); then chmod -R u+w "${work_dirs[@]}" 2>/dev/null || true; rm -rf "${work_dirs[@]}"; fi; }
trap cleanup EXIT

is_current() { # <binary> <stamp>
  [[ -x "$tools_bin/$1" && -f "$tools_bin/.$1.version" && "$(cat "$tools_bin/.$1.version")" == "$2" ]]
}

# Builds <package> in a throwaway module that requires the given module versions.
build_binary() { # <binary> <stamp> <package@version> <ldflags> <module@version>...
  local binary="$1" stamp="$2" package="$3" ldflags="$4"
  shift 4
  if is_current "$binary" "$stamp"; then
    echo "$binary: cached ($stamp)" >&2
    return 0
  fi
  echo "$binary: building from $stamp (first build is slow; cached in $tools_bin)" >&2
  local started dir module
  started=$(date +%s)
  dir="$(mktemp -d)"
  work_dirs+=("$dir")
  (
    cd "$dir"
    go mod init "infra.local/build/$binary" >/dev/null 2>&1
    for module in "$@"; do
      go mod edit -require="$module"
      copy_replaces "$module"
    done
    go get "$package" 2>&1 | { grep -v "^go: downloading" || true; } >&2
    go build -trimpath -ldflags "$ldflags" -o "$tools_bin/$binary.partial" "${package%@*}"
  )
  mv "$tools_bin/$binary.partial" "$tools_bin/$binary"
  echo "$stamp" > "$tools_bin/.$binary.version"
  echo "$binary: built in $(($(date +%s) - started))s" >&2
}

# The engine starts pulumi-resource-pulumi-nodejs in the program's directory. Like
# the launcher shipped in Pulumi's nodejs SDK, it resolves the dynamic provider
# from there, so the SDK in <repo>/node_modules serves the program's dynamic
# resources; PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH overrides that.
install_dynamic_provider_launcher() {
  local target="$tools_bin/pulumi-resource-pulumi-nodejs" next
  next="$(mktemp)"
  cat > "$next" <<'LAUNCHER'
#!/bin/sh
# Written by tools/install/pulumi.sh: runs the nodejs SDK's dynamic provider.
script="${PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH:-}"
if [ -z "$script" ]; then
  script=$(node -e 'process.stdout.write(require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [process.cwd()] }))') || exit 1
fi
exec node "$script" "$@"
LAUNCHER
  chmod 755 "$next"
  if cmp -s "$next" "$target"; then
    rm -f "$next"
    echo "pulumi-resource-pulumi-nodejs: cached" >&2
  else
    mv "$next" "$target"
    echo "pulumi-resource-pulumi-nodejs: written" >&2
  fi
}

started_all=$(date +%s)
build_binary pulumi "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" \
  "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
  "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION"
build_binary pulumi-language-nodejs \
  "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@$LANGUAGE_HOST_SDK_VERSION" \
  "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@$LANGUAGE_HOST_SDK_VERSION" \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGUAGE_HOST_SDK_VERSION" \
  "github.com/pulumi/pulumi/sdk/v3@$LANGUAGE_HOST_SDK_VERSION"
install_dynamic_provider_launcher
echo "pulumi tools ready in $tools_bin ($(($(date +%s) - started_all))s)" >&2
