#!/usr/bin/env bash
# Builds tools/hcloud-change (the Hetzner Cloud provider's own plan and update
# of a resource change, for tests/scaling) into the shared tools directory,
# like go-tool.sh: once per pinned version and source, reused afterwards.
#
# @pulumi/hcloud 1.41.0 is tag v1.41.0 of pulumi/pulumi-hcloud. Its plugin is
# the untagged sub-module github.com/pulumi/pulumi-hcloud/provider, which the
# module proxy does not serve (nor any other version of it):
#   go list -m github.com/pulumi/pulumi-hcloud/provider@v0.0.0-20260729041428-ffe30196c68c
#   -> 403 Forbidden, "This module version is not available."
# The plugin is the upstream Terraform provider behind pulumi-terraform-bridge,
# so the program is built from the same three pieces, at the versions that
# tag's provider/go.mod pins: terraform-provider-hcloud v1.68.0, the bridge
# v3.135.0, and Pulumi's fork of terraform-plugin-sdk/v2 (the bridge's own
# replace directive, which pins the same fork commit).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

readonly PULUMI_HCLOUD_VERSION=1.41.0
readonly TERRAFORM_PROVIDER=github.com/hetznercloud/terraform-provider-hcloud@v1.68.0
readonly BRIDGE=github.com/pulumi/pulumi-terraform-bridge/v3@v3.135.0
readonly PLUGIN_SDK_FORK=github.com/pulumi/terraform-plugin-sdk/v2@v2.0.0-20260318212141-5525259d096b

# The pins above belong to one @pulumi/hcloud release; a different one needs new pins.
installed="$(node -p 'require(process.argv[1]).version' "$root/node_modules/@pulumi/hcloud/package.json")"
if [[ "$installed" != "$PULUMI_HCLOUD_VERSION" ]]; then
  echo "hcloud-change: pinned for @pulumi/hcloud $PULUMI_HCLOUD_VERSION, but node_modules has $installed;" >&2
  echo "  update the versions in $0 to the ones that release's provider/go.mod requires" >&2
  exit 1
fi

# shellcheck source=tools/install/go-build.sh
source "$root/tools/install/go-build.sh"

add_provider_and_bridge() {
  go mod edit -require="$TERRAFORM_PROVIDER" -require="$BRIDGE"
  # Replace directives only apply in the main module: copy the bridge's
  # non-local ones (the plugin-sdk fork among them).
  copy_replaces "$BRIDGE"
  local fork
  fork="$(go mod edit -json | jq -r '.Replace[]? | select(.Old.Path == "github.com/hashicorp/terraform-plugin-sdk/v2") | "\(.New.Path)@\(.New.Version)"')"
  if [[ "$fork" != "$PLUGIN_SDK_FORK" ]]; then
    echo "hcloud-change: $BRIDGE replaces terraform-plugin-sdk/v2 with '${fork:-nothing}', not $PLUGIN_SDK_FORK" >&2
    return 1
  fi
}

build_source_tool hcloud-change "$root/tools/hcloud-change" "$TERRAFORM_PROVIDER $BRIDGE $PLUGIN_SDK_FORK" "infra.local/build/hcloud-change" add_provider_and_bridge
