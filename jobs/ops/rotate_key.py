"""Rotate the pseudonymisation key: ``python -m jobs.pipeline rotate-key [--run-id ID]``.

Pseudonyms are computed at bronze, so a new key needs the person ids again: they exist only in the raw
zone. The rotation therefore (1) deletes, whole and with all their Delta versions, the person-level
bronze tables and every silver, gold and row-quarantine table (nothing made with the old key survives,
not even through time travel), then (2) reloads the person-level files from raw with the key now
configured and (3) rebuilds silver, gold and the published outputs. Aggregates do not change: the same
people are counted, under new pseudonyms.

Procedure (README "Pseudonymisation key rotation"): pause the DAG, put the new key in the secret store
behind ``OBS_PSEUDONYMIZATION_KEY``, run this command, check the run report, destroy the old key. On a
local lake without a configured key, ``--new-local-key`` replaces the lake's generated key.
"""

from __future__ import annotations

import os
import secrets

from jobs.core.privacy import key_mark_dir
from jobs.core.settings import LOCAL_KEY_FILE, Settings
from jobs.core.spark import get_spark
from jobs.core.storage import ObjectStore
from schemas.sources import TABULAR_SOURCES, source_contract

KEPT = ("quarantine/files",)  # file-level refusals: no pseudonym (person-level files keep only their header)
REBUILT_ZONES = ("silver", "gold", "quarantine", "quality")


def person_level_tables() -> dict[str, list[str]]:
    """source -> its bronze tables that hold pseudonyms (entities marked ``person_level``)."""
    out: dict[str, list[str]] = {}
    for source in TABULAR_SOURCES:
        tables = [e.table for e in source_contract(source).entities.values() if e.person_level]
        if tables:
            out[source] = tables
    return out


def tables_to_delete(settings: Settings, store: ObjectStore) -> list[str]:
    """Table names (``zone/name``) deleted by a rotation, those present in the lake."""
    names = {t for tables in person_level_tables().values() for t in tables}
    for zone in REBUILT_ZONES:
        prefix = settings.zone_uri(zone)
        for uri in store.list(prefix):
            names.add(f"{zone}/{uri[len(prefix) + 1:].split('/', 1)[0]}")
    return sorted(n for n in names if n not in KEPT and store.list(settings.table_uri(n)))


def new_local_key(settings: Settings) -> None:
    """Replace the generated key of a local lake (atomically, owner-only)."""
    path = settings.lake_path / LOCAL_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    os.replace(tmp, path)


def _forget_deleted_tables(settings: Settings) -> None:
    """Drop Spark's and Delta's cached snapshots: they would still see the deleted tables."""

    spark = get_spark(settings)
    spark.catalog.clearCache()
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()


def delete_pseudonymised(settings: Settings) -> dict[str, int]:
    """Delete every table the old key made (whole, with its Delta history); the caller reloads them from raw.
    Fails before deleting anything when no key is configured."""
    settings.pseudonymization_key_bytes()
    store = ObjectStore(settings)
    deleted = {name: store.delete_prefix(settings.table_uri(name)) for name in tables_to_delete(settings, store)}
    store.delete_prefix(key_mark_dir(settings))  # the reload records the new key's fingerprint
    _forget_deleted_tables(settings)
    return deleted
