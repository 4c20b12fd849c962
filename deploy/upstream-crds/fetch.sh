#!/bin/sh
# Fetches the upstream network-policy-api CRDs (experimental channel: a superset of standard, and
# SPEC section 9.2 accepts and evaluates experimental fields) from the Go module proxy at pinned
# versions, checks each module zip against its pinned go.sum checksum, and copies the CRD YAML here.
#   v0.1.5: policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy, BaselineAdminNetworkPolicy
#   v0.2.0: policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy (v0.3.0 is also published)
# Then run `npm run gen:crds` (it also regenerates core/src/schemas/upstream-crds.generated.ts).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() { # version go.sum-hash file...
  version=$1 sum=$2
  shift 2
  json=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/network-policy-api@$version")
  got=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p')
  dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  if [ "$got" != "$sum" ]; then
    echo "network-policy-api@$version: checksum $got, expected $sum" >&2
    exit 1
  fi
  for f in "$@"; do
    cp "$dir/config/crd/experimental/$f" "$here/$version-$f"
    chmod 644 "$here/$version-$f"
    echo "wrote deploy/upstream-crds/$version-$f"
  done
}
fetch v0.1.5 'h1:xyS7VAaM9EfyB428oFk7WjWaCK6B129i+ILUF4C8l6E=' \
  policy.networking.k8s.io_adminnetworkpolicies.yaml \
  policy.networking.k8s.io_baselineadminnetworkpolicies.yaml
fetch v0.2.0 'h1:W/f0Y9VoeQdOWjX/h2gZyLH6gZ5LLEXmh/9wy9mQWKw=' \
  policy.networking.k8s.io_clusternetworkpolicies.yaml
