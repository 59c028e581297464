#!/usr/bin/env bash
# Builds the Docker Compose CLI plugin (Apache-2.0) from the Go module proxy into the cache OUTSIDE the clone,
# for machines that have the docker client but not the compose plugin (the tests validate docker-compose.yml):
#   $OBS_CACHE_DIR/docker-compose-<version>/cli-plugins/docker-compose
# Use it with: DOCKER_CONFIG=$OBS_CACHE_DIR/docker-compose-<version> docker compose ...
# Prints that DOCKER_CONFIG directory on stdout. Builds only when missing (~N min the first time, see README).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${OBS_CACHE_DIR:-$HOME/.cache/observatoire-clauses}"
# v5.7.x needs github.com/docker/secrets-engine, which the module proxy refuses to serve; v5.6.0 does not,
# and declares go 1.26.8 (the machine's Go).
COMPOSE_VERSION="v5.6.0"
dir="$CACHE/docker-compose-$COMPOSE_VERSION"

if [ ! -f "$dir/.complete" ]; then
  echo "[compose] building docker compose $COMPOSE_VERSION into $dir (first time only)" >&2
  start=$(date +%s)
  rm -rf "$dir" "$dir.tmp"
  bash "$ROOT/infra/gobuild.sh" github.com/docker/compose/v5 "$COMPOSE_VERSION" cmd \
    "$dir.tmp/cli-plugins/docker-compose" \
    -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION"
  echo '{}' > "$dir.tmp/config.json"
  touch "$dir.tmp/.complete"
  mv "$dir.tmp" "$dir"
  echo "[compose] built in $(( $(date +%s) - start )) s" >&2
fi
echo "$dir"
