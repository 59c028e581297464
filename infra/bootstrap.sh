#!/usr/bin/env bash
# Installs what the project needs into a cache OUTSIDE the clone and links it in:
#   .venv          -> $OBS_CACHE_DIR/venv-<hash of requirements.lock>   (Python packages, from PyPI)
#   infra/jars/lib -> $OBS_CACHE_DIR/jars-<hash of infra/jars/pom.xml>  (Delta + S3A jars, from Maven Central)
#   infra/s3proxy/lib -> $OBS_CACHE_DIR/s3proxy-<version>               (test S3 server, from Maven Central)
# Each part is rebuilt only when its input changed or a previous build did not finish.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${OBS_CACHE_DIR:-$HOME/.cache/observatoire-clauses}"
PYTHON="${OBS_PYTHON:-python3}"
UV_VERSION="0.9.30"
S3PROXY_VERSION="3.1.0"
mkdir -p "$CACHE"
# One bootstrap at a time per cache: two clones building the same venv must not delete each other's work.
exec 9>"$CACHE/.bootstrap.lock"
flock 9

hash_of() { cat "$@" | sha256sum | cut -c1-12; }  # content only: the same in every clone
link() { mkdir -p "$(dirname "$2")"; ln -sfn "$1" "$2"; }
log() { echo "[bootstrap] $*" >&2; }

# --- Python environment -------------------------------------------------------------------
venv="$CACHE/venv-$(hash_of "$ROOT/requirements.lock")-$("$PYTHON" -c 'import sys;print("py%d%d"%sys.version_info[:2])')"
if [ ! -f "$venv/.complete" ]; then
  log "creating $venv"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
  "$venv/bin/uv" pip sync -q --python "$venv/bin/python" "$ROOT/requirements.lock"
  touch "$venv/.complete"
fi
link "$venv" "$ROOT/.venv"
# The project itself, editable: `python -m jobs.pipeline` and the DAGs import it from any directory, no
# PYTHONPATH. The venv is shared by clones (keyed by the lock), so a .pth also puts the clone of the `.venv` link
# that started Python first (sys.prefix is that link): two clones sharing the venv never import each other's code.
if [ ! -f "$venv/.project-installed" ]; then
  log "installing the project (editable)"
  "$venv/bin/uv" pip install -q --python "$venv/bin/python" --no-deps -e "$ROOT"
  touch "$venv/.project-installed"
fi
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cat > "$site/zz_observatoire_clone.pth" <<'PTH'
import os, sys; _r = os.path.dirname(sys.prefix); _r in sys.path or not os.path.isfile(os.path.join(_r, "jobs", "pipeline.py")) or sys.path.append(_r)
PTH

# --- Spark extra jars (Delta Lake, hadoop-aws + AWS SDK v2) ----------------------------------
jars="$CACHE/jars-$(hash_of "$ROOT/infra/jars/pom.xml")"
if [ ! -f "$jars/.complete" ]; then
  log "resolving Spark jars into $jars"
  rm -rf "$jars" "$jars.tmp"
  mvn -B -q -Dstyle.color=never -f "$ROOT/infra/jars/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$jars.tmp"
  # Drop every artifact pyspark already ships (its own versions win; two copies on the classpath break).
  pyjars="$("$venv/bin/python" -c 'import pyspark,os;print(os.path.join(os.path.dirname(pyspark.__file__),"jars"))')"
  for f in "$jars.tmp"/*.jar; do
    base="$(basename "$f" .jar | sed -E 's/-[0-9][0-9A-Za-z.+-]*$//')"
    if compgen -G "$pyjars/$base-[0-9]*.jar" >/dev/null; then rm -f "$f"; fi
  done
  touch "$jars.tmp/.complete"
  mv "$jars.tmp" "$jars"
fi
link "$jars" "$ROOT/infra/jars/lib"

# --- S3Proxy: the S3-compatible server the tests run against (Apache-2.0) ---------------------
s3p="$CACHE/s3proxy-$S3PROXY_VERSION"
if [ ! -f "$s3p/.complete" ]; then
  log "fetching S3Proxy $S3PROXY_VERSION into $s3p"
  rm -rf "$s3p" "$s3p.tmp"
  mvn -B -q -Dstyle.color=never dependency:copy -Dartifact="org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies" \
      -DoutputDirectory="$s3p.tmp" -Dmdep.stripVersion=true
  mv "$s3p.tmp/s3proxy-jar-with-dependencies.jar" "$s3p.tmp/s3proxy.jar"
  touch "$s3p.tmp/.complete"
  mv "$s3p.tmp" "$s3p"
fi
link "$s3p" "$ROOT/infra/s3proxy/lib"
# --- Chromium: renders the PDF sheets and report, and runs the browser tests (Debian package) -----
chromium="${OBS_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium (PDF rendering, browser tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    log "WARNING: no Chromium: install Debian's 'chromium' package or set OBS_CHROMIUM (PDFs, browser tests)"
  fi
fi
log "ready (cache: $CACHE)"
