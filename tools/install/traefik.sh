#!/usr/bin/env bash
# Builds Traefik from the Go module proxy: the tests run it as the validator of
# the generated Traefik configuration. `go install module@version` refuses
# modules with replace directives, which Traefik's go.mod has, so the module
# is downloaded and built in place. Cached per version like go-tool.sh.
set -euo pipefail
version="v3.6.12"   # keep equal to TRAEFIK_VERSION in components/ingress/traefik-spec.ts
tools_bin="${INFRA_TOOLS_BIN:-$HOME/.cache/infra-tools/bin}"
stamp="$tools_bin/.traefik.version"
mkdir -p "$tools_bin"
if [[ -x "$tools_bin/traefik" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
  exit 0
fi
echo "building traefik $version from the Go module proxy (first build takes several minutes)" >&2
started=$(date +%s)
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/traefik/traefik/v3@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$dir/." "$work/"
chmod -R u+w "$work"
(cd "$work" && GOFLAGS=-mod=mod go build -trimpath -o "$tools_bin/traefik" ./cmd/traefik)
echo "$version" > "$stamp"
echo "built traefik in $(( $(date +%s) - started ))s" >&2
