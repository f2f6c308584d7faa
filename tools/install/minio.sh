#!/usr/bin/env bash
# Installs the MinIO server that the storage live tests run on 127.0.0.1.
#
# MinIO's release tags (RELEASE.<date>) are not semver, so the module proxy
# lists no versions and @latest is a pseudo-version of the default branch
# (`go list -m -versions github.com/minio/minio` prints none). This one is what
# `go install github.com/minio/minio@latest` resolved to on 2026-11-23; pinning
# it keeps every machine on the same server. Its go.mod has no replace
# directives, so a plain `go install module@version` from the proxy builds it:
# about 2.5 minutes cold, seconds once the Go build cache is warm.
#
# A binary built this way reports `minio version DEVELOPMENT.GOGET`, because
# the release ldflags are only set by MinIO's own Makefile; the module version
# is still recorded: `go version -m "$(command -v minio)"`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/go-tool.sh" github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c minio
