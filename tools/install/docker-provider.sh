#!/usr/bin/env bash
# Builds tools/docker-provider, the pulumi-resource-docker plugin that the
# testbed deploys with, into the shared tools directory: once per pinned
# version and source, reused afterwards (like hcloud-change.sh).
#
# @pulumi/docker 5.2.0's plugin source (github.com/pulumi/pulumi-docker/provider/v5)
# is refused by the module proxy:
#   go list -m github.com/pulumi/pulumi-docker/provider/v5@latest -> 403 Forbidden
# The plugin is the upstream Terraform provider behind pulumi-terraform-bridge,
# so it is built from those two, the bridge at the version hcloud-change uses.
# The upstream module declares the path
# github.com/terraform-providers/terraform-provider-docker and keeps its
# provider under internal/: Go lets a package import an internal/ tree only
# from inside the same path, so the build module is named below that path and
# the upstream path is replaced by its published source.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

readonly PULUMI_DOCKER_VERSION=5.2.0
readonly UPSTREAM_PATH=github.com/terraform-providers/terraform-provider-docker
readonly UPSTREAM=github.com/kreuzwerker/terraform-provider-docker@v0.0.0-20260916201441-96d331c98ff4
readonly BRIDGE=github.com/pulumi/pulumi-terraform-bridge/v3@v3.135.0

installed="$(node -p 'require(process.argv[1]).version' "$root/node_modules/@pulumi/docker/package.json")"
if [[ "$installed" != "$PULUMI_DOCKER_VERSION" ]]; then
  echo "docker-provider: built for @pulumi/docker $PULUMI_DOCKER_VERSION, but node_modules has $installed;" >&2
  echo "  update the pins in $0 and the tokens in tools/docker-provider/main.go" >&2
  exit 1
fi

# shellcheck source=tools/install/go-build.sh
source "$root/tools/install/go-build.sh"

add_upstream_and_bridge() {
  go mod edit -require="$UPSTREAM_PATH@v0.0.0" -replace="$UPSTREAM_PATH=$UPSTREAM" -require="$BRIDGE"
  # Replace directives apply only in the main module: copy the non-local ones
  # of the bridge (Pulumi's terraform-plugin-sdk fork) and of the upstream provider.
  for module in "$BRIDGE" "$UPSTREAM"; do copy_replaces "$module"; done
}

build_source_tool pulumi-resource-docker "$root/tools/docker-provider" "$UPSTREAM $BRIDGE" "$UPSTREAM_PATH/pulumishim" add_upstream_and_bridge
