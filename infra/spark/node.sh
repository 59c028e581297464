#!/usr/bin/env bash
# Runs a Spark standalone master or worker in the foreground, from the pyspark install (no separate Spark
# distribution: the same Spark, Python and packages as the driver). Used by docker-compose.yml and the tests.
#   infra/spark/node.sh master --host 0.0.0.0 --port 7077 --webui-port 8081
#   infra/spark/node.sh worker spark://spark-master:7077 --cores 2 --memory 2g
# OBS_PYTHON: the interpreter whose pyspark to use (default: the project's .venv, else python3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
role="${1:?master or worker}"; shift
case "$role" in
  master) cls=org.apache.spark.deploy.master.Master ;;
  worker) cls=org.apache.spark.deploy.worker.Worker ;;
  *) echo "unknown role $role (master or worker)" >&2; exit 2 ;;
esac
py="${OBS_PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then py="$ROOT/.venv/bin/python"; else py=python3; fi
fi
SPARK_HOME="$("$py" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME
# Executors run the project's Python code (mapInPandas, pandas UDFs) with the driver's interpreter.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$SPARK_HOME/bin/spark-class" "$cls" "$@"
