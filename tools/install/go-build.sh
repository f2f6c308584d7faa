# Sourced by the install scripts that build a Go program in a throwaway module.
# shellcheck shell=bash

# The checksum database answers 404 Not Found for some pulumi releases, so
# their go.sum lines come from the proxy download alone.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi"
export GOFLAGS="${GOFLAGS:-} -mod=mod"

# Adds the non-local replace directives of a required module's go.mod to the
# current module: replace directives only apply in the main module, and the
# modules built here need theirs (pkg/v3 its clipboard fork, the bridge its
# terraform-plugin-sdk fork).
copy_replaces() { # <module@version>
  local go_mod
  go_mod="$(go mod download -json "$1" | jq -r '.GoMod')"
  go mod edit -json "$go_mod" \
    | jq -r '.Replace // [] | .[] | select(.New.Version != null)
             | "\(.Old.Path)\(if .Old.Version then "@" + .Old.Version else "" end)=\(.New.Path)@\(.New.Version)"' \
    | while read -r replacement; do go mod edit -replace="$replacement"; done
}

# Builds the .go files of <source_dir> as <binary> into the shared tools
# directory, in a module named <module> that <prepare> (a function run in the
# module after `go mod init`) fills with requirements and replacements. Once
# per <pins> and source: the stamp file beside the binary records both, and a
# later call with the same ones does nothing.
build_source_tool() { # <binary> <source_dir> <pins> <module> <prepare>
  local binary="$1" source_dir="$2" pins="$3" module="$4" prepare="$5"
  local tools_bin="${INFRA_TOOLS_BIN:-$HOME/.cache/infra-tools/bin}" stamp started work
  stamp="$pins source:$(cat "$source_dir"/*.go | sha256sum | cut -c1-16)"
  mkdir -p "$tools_bin"
  if [[ -x "$tools_bin/$binary" && -f "$tools_bin/.$binary.version" && "$(cat "$tools_bin/.$binary.version")" == "$stamp" ]]; then
    echo "$binary: cached" >&2
    return 0
  fi
  echo "$binary: building from $pins (first build is slow; cached in $tools_bin)" >&2
  started=$(date +%s)
  work="$(mktemp -d)"
  cp "$source_dir"/*.go "$work/"
  if ! (
    cd "$work"
    go mod init "$module" >/dev/null 2>&1
    "$prepare"
    # Not `go mod tidy`: it also resolves the bridge's test imports, whose
    # pulumi-yaml and pulumi-dotnet pseudo-versions the module proxy refuses (403).
    go get . 2>&1 | { grep -v "^go: downloading" || true; } >&2
    go build -trimpath -o "$tools_bin/$binary.partial" .
  ); then
    chmod -R u+w "$work" 2>/dev/null || true
    rm -rf "$work"
    return 1
  fi
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
  mv "$tools_bin/$binary.partial" "$tools_bin/$binary"
  echo "$stamp" > "$tools_bin/.$binary.version"
  echo "$binary: built in $(($(date +%s) - started))s" >&2
}
