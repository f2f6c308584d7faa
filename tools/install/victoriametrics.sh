#!/usr/bin/env bash
# Builds VictoriaMetrics single-node and vmalert from the Go module proxy, for
# the testbed images victoriametrics/victoria-metrics and victoriametrics/vmalert
# (tools/testbed/images/build.sh copies them into the images' root filesystem).
# The module has no replace directives, so `go install module/app/...@version`
# builds it; CGO is off and symbols are stripped, as in the official images'
# static binaries, and the version is stamped where `-version` and /metrics
# read it, as the project's Makefile does. Cached per version and flags like
# go-tool.sh: the stamp beside each binary is what build.sh puts in the
# images' recipe.
#
#   tools/install/victoriametrics.sh   prints the directory holding both binaries
set -euo pipefail
version="v1.108.1"   # keep equal to the victoriametrics/* tags in components/monitoring
tools_bin="${INFRA_TOOLS_BIN:-$HOME/.cache/infra-tools/bin}"
module="github.com/VictoriaMetrics/VictoriaMetrics"
mkdir -p "$tools_bin"
for binary in victoria-metrics vmalert; do
  stamp="$tools_bin/.$binary.version"
  package="$module/app/$binary@$version"
  ldflags="-s -w -X $module/lib/buildinfo.Version=$binary-$version"
  if [[ -x "$tools_bin/$binary" && -f "$stamp" && "$(cat "$stamp")" == "$package $ldflags" ]]; then
    continue
  fi
  echo "building $binary $version from the Go module proxy (first build takes a few minutes; cached in $tools_bin)" >&2
  started=$(date +%s)
  work=$(mktemp -d)
  CGO_ENABLED=0 GOBIN="$work" GOFLAGS="${GOFLAGS:-} -mod=mod" \
    go install -trimpath -ldflags="$ldflags" "$package"
  mv "$work/$binary" "$tools_bin/$binary"
  rmdir "$work"
  echo "$package $ldflags" > "$stamp"
  echo "built $binary in $(( $(date +%s) - started ))s" >&2
done
echo "$tools_bin"
