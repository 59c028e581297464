#!/usr/bin/env bash
# Builds one command of a Go module fetched from the Go module proxy, into the project cache.
#   infra/gobuild.sh <module> <version> <package dir inside the module> <output binary> [go build flags...]
# The module is built as the main module from its own downloaded source (so its replace/exclude directives
# apply, which `go install pkg@version` refuses). Go's module and build caches live in the project cache too.
set -euo pipefail
CACHE="${OBS_CACHE_DIR:-$HOME/.cache/observatoire-clauses}"
module="$1" version="$2" pkg="$3" out="$4"; shift 4
command -v go >/dev/null || { echo "[gobuild] the go command is required to build $module" >&2; exit 1; }
# The machine's Go (1.26.8) builds the pinned versions. Should a module ever declare a newer Go, set
# OBS_GOTOOLCHAIN=go1.27.3: the go command fetches that approved toolchain from the module proxy.
export GOTOOLCHAIN="${OBS_GOTOOLCHAIN:-local}"
export GOPATH="$CACHE/go" GOCACHE="$CACHE/go-build" GOFLAGS="-modcacherw -buildvcs=false"
src="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$src" ] || { echo "[gobuild] could not download $module@$version" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
cd "$src" && go build -trimpath -o "$out" "$@" "./$pkg"
