#!/usr/bin/env bash
# Builds SeaweedFS (Apache-2.0) from the Go module proxy into the cache OUTSIDE the clone:
#   $OBS_CACHE_DIR/seaweedfs-<version>/weed
# The tests use its S3 gateway because, unlike S3Proxy, it enforces per-identity permissions (access tests).
# Prints the binary's path on stdout. Builds only when missing (several minutes the first time, see README).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${OBS_CACHE_DIR:-$HOME/.cache/observatoire-clauses}"
SEAWEEDFS_VERSION="v0.0.0-20261109003541-7506e5f91cd6"  # declares go 1.26.6
dir="$CACHE/seaweedfs-$SEAWEEDFS_VERSION"

if [ ! -f "$dir/.complete" ]; then
  echo "[seaweedfs] building SeaweedFS $SEAWEEDFS_VERSION into $dir (first time only)" >&2
  start=$(date +%s)
  rm -rf "$dir" "$dir.tmp"
  bash "$ROOT/infra/gobuild.sh" github.com/seaweedfs/seaweedfs "$SEAWEEDFS_VERSION" weed "$dir.tmp/weed" \
    -ldflags "-s -w"
  touch "$dir.tmp/.complete"
  mv "$dir.tmp" "$dir"
  echo "[seaweedfs] built in $(( $(date +%s) - start )) s" >&2
fi
echo "$dir/weed"
