# Sourced by the install scripts that build a throwaway Go module.
# shellcheck shell=bash

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
