"""Weekly Delta maintenance: OPTIMIZE (compact small files), VACUUM (remove files no version within the
retention needs, ``OBS_VACUUM_RETENTION_HOURS``, default 168 h) and a check that the log is checkpointed.

Tables are grouped by family (bronze, silver, gold); maintenance commits to the tables like any writer, so
it takes the same Airflow pool slot as their writers (``lake_bronze``, ``lake_transform``).
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

from jobs.core.settings import Settings
from jobs.core.spark import get_spark
from jobs.core.storage import ObjectStore
from jobs.ops.monitoring import list_tables

FAMILIES = ("bronze", "silver", "gold")
DEFAULT_CHECKPOINT_INTERVAL = 10  # Delta's default delta.checkpointInterval
_COMMIT = re.compile(r"/_delta_log/(\d{20})\.json$")


def table_family(name: str) -> str:
    """Pool family of a table: bronze (with the file quarantine all bronze loaders append to), gold, or silver
    (silver tables, their quarantines and the quality tables, all written by the transform)."""
    if name.startswith("bronze/") or name == "quarantine/files":
        return "bronze"
    return "gold" if name.startswith("gold/") else "silver"


def data_files(settings: Settings, name: str) -> list[str]:
    """Parquet files under the table's folder (live or not: what VACUUM may delete)."""
    return [u for u in ObjectStore(settings).list(settings.table_uri(name))
            if u.endswith(".parquet") and "/_delta_log/" not in u]


@contextmanager
def _retention_check(spark, hours: int):
    """Delta refuses a retention under 168 h unless its safety check is switched off (for this call only)."""
    key = "spark.databricks.delta.retentionDurationCheck.enabled"
    previous = spark.conf.get(key, "true")
    spark.conf.set(key, "true" if hours >= 168 else "false")
    try:
        yield
    finally:
        spark.conf.set(key, previous)


def optimize(spark, settings: Settings, name: str) -> dict:
    from delta.tables import DeltaTable

    table = DeltaTable.forPath(spark, settings.table_uri(name))
    before = table.detail().collect()[0]["numFiles"]
    table.optimize().executeCompaction()
    after = table.detail().collect()[0]["numFiles"]
    return {"table": name, "files_before": before, "files_after": after}


def vacuum(spark, settings: Settings, name: str, hours: int | None = None) -> dict:
    from delta.tables import DeltaTable

    hours = settings.vacuum_retention_hours if hours is None else hours
    before = len(data_files(settings, name))
    with _retention_check(spark, hours):
        DeltaTable.forPath(spark, settings.table_uri(name)).vacuum(float(hours))
    return {"table": name, "retention_hours": hours, "files_before": before,
            "files_after": len(data_files(settings, name))}


def checkpoint_status(spark, settings: Settings, name: str) -> dict:
    """Latest version, last checkpoint (``_delta_log/_last_checkpoint``) and whether the log is checkpointed
    as often as ``delta.checkpointInterval`` says (a table younger than one interval needs none yet)."""
    from delta.tables import DeltaTable

    store = ObjectStore(settings)
    log = f"{settings.table_uri(name)}/_delta_log"
    versions = [int(m.group(1)) for u in store.list(log) if (m := _COMMIT.search(u))]
    latest = max(versions, default=-1)
    last_uri = f"{log}/_last_checkpoint"
    checkpoint = json.loads(store.get_bytes(last_uri))["version"] if store.exists(last_uri) else None
    props = DeltaTable.forPath(spark, settings.table_uri(name)).detail().collect()[0]["properties"] or {}
    interval = int(props.get("delta.checkpointInterval", DEFAULT_CHECKPOINT_INTERVAL))
    behind = latest - (checkpoint if checkpoint is not None else -1)
    ok = latest < interval or (checkpoint is not None and behind <= interval)
    return {"table": name, "version": latest, "last_checkpoint": checkpoint, "interval": interval,
            "commits_since_checkpoint": behind, "ok": ok}


def maintain_family(spark, settings: Settings, family: str) -> list[dict]:
    """OPTIMIZE then VACUUM every table of a family."""
    out = []
    for name in list_tables(settings):
        if table_family(name) == family:
            out.append({**optimize(spark, settings, name), "vacuum": vacuum(spark, settings, name)})
    return out


def check_checkpoints(spark, settings: Settings) -> list[dict]:
    """Every table's checkpoint status; raises when one is behind (the task shows red)."""
    statuses = [checkpoint_status(spark, settings, name) for name in list_tables(settings)]
    late = [s for s in statuses if not s["ok"]]
    if late:
        raise RuntimeError("tables without a recent checkpoint: " + ", ".join(
            f"{s['table']} (version {s['version']}, last checkpoint {s['last_checkpoint']})" for s in late))
    return statuses


def run_family(family: str, settings: Settings | None = None) -> list[dict]:

    settings = settings or Settings.from_env()
    return maintain_family(get_spark(settings), settings, family)


def run_checkpoint_check(settings: Settings | None = None) -> list[dict]:

    settings = settings or Settings.from_env()
    return check_checkpoints(get_spark(settings), settings)
