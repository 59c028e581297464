"""The storage server stopped mid-landing and mid-Delta-write: nothing partial is visible, the retry completes.

The server is stopped by the fault relay exactly when a chosen request arrives (that request never reaches
it), then restarted on the same port with the same data folder.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from pyspark.sql import functions as F

from jobs.core.delta_io import table_version, write_table
from jobs.core.storage import ObjectStore, split_s3
from jobs.ingest.landing import LandingInterrupted, land_inbox, read_manifest
from tests.integration.reliability.conftest import route_bucket

pytestmark = [pytest.mark.s3, pytest.mark.timeout(240)]
NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def raw_zone(settings) -> tuple[list[dict], list[str]]:
    """The manifest entries and the raw objects of the DECP source, with the landing invariant checked:
    every manifest entry points to an object holding exactly the bytes it describes (size and SHA-256).
    Objects without an entry may exist (interrupted before the manifest); no stage reads them."""
    store = ObjectStore(settings)
    manifest = read_manifest(settings, "decp", store)
    objects = [u for u in store.list(f"{settings.zone_uri('raw')}/decp") if not u.endswith("/")]  # no folder markers
    for entry in manifest:
        assert entry["uri"] in objects, f"manifest entry without its object: {entry['uri']}"
        data = store.get_bytes(entry["uri"])
        assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"], entry["uri"]
    return manifest, objects


@pytest.mark.parametrize("fault", ["first manifest PUT", "second file PUT"])
def test_server_stopped_mid_landing(faulty_s3, tmp_path, fault):
    settings = faulty_s3.settings(tmp_path)
    bucket, _ = split_s3(settings.lake_uri)
    inbox = settings.inbox_path / "decp"
    inbox.mkdir(parents=True)
    for month in (1, 2, 3):
        (inbox / f"decp_2026-0{month}.json").write_bytes(b'{"marches": []}' + bytes([month]) * 200_000)
    if fault == "first manifest PUT":  # file 1's object is stored, its manifest entry is not
        pattern, nth, landed_before = rf"PUT /{bucket}/lake/raw/_manifest/decp/\S+ HTTP", 1, 0
    else:  # file 1 fully landed; file 2's object never reaches the server
        pattern, nth, landed_before = rf"PUT /{bucket}/lake/raw/decp/\S+ HTTP", 2, 1
    rule = faulty_s3.proxy.on_request(pattern, faulty_s3.stop_server, nth=nth)
    try:
        with pytest.raises(LandingInterrupted) as err:
            land_inbox(settings, "decp", "run-1", NOW)
        assert rule.fired
        expected_file = "decp_2026-01.json" if fault == "first manifest PUT" else "decp_2026-02.json"
        assert f"stopped at {expected_file}" in str(err.value) and "rerun to land the rest" in str(err.value)
        assert f"{landed_before} file(s) landed before it" in str(err.value)
    finally:
        faulty_s3.restart_server()

    manifest, objects = raw_zone(settings)
    assert len(manifest) == landed_before
    orphans = set(objects) - {e["uri"] for e in manifest}
    assert len(orphans) == (1 if fault == "first manifest PUT" else 0)  # never read: bronze reads the manifest

    retry = land_inbox(settings, "decp", "run-2", NOW)
    assert len(retry.landed) == 3 - landed_before and len(retry.skipped) == landed_before
    manifest, objects = raw_zone(settings)
    assert sorted(e["original_name"] for e in manifest) == [f"decp_2026-0{m}.json" for m in (1, 2, 3)]
    assert sorted(objects) == sorted(e["uri"] for e in manifest)  # the orphan was rewritten under its key
    again = land_inbox(settings, "decp", "run-3", NOW)
    assert (len(again.landed), len(again.skipped)) == (0, 3)


def delta_log(settings, name: str) -> list[str]:
    store = ObjectStore(settings)
    return sorted(u.rsplit("/", 1)[1] for u in store.list(settings.table_uri(name) + "/_delta_log")
                  if u.endswith(".json"))


def parquet_objects(settings, name: str) -> set[str]:
    store = ObjectStore(settings)
    return {u.rsplit("/", 1)[1] for u in store.list(settings.table_uri(name)) if u.endswith(".parquet")}


@pytest.mark.slow  # about 11 s (decision 211)
def test_server_stopped_mid_delta_write(spark, faulty_s3, tmp_path):
    """Stopped when the write's commit arrives: its data files are on the server, its log entry is not."""
    settings = faulty_s3.settings(tmp_path)
    ObjectStore(settings).ensure_bucket()
    route_bucket(spark, settings)
    bucket, _ = split_s3(settings.lake_uri)
    name = "silver/t"
    before = spark.range(300).withColumn("v", F.lit("before"))
    after = spark.range(500).withColumn("v", F.lit("after"))
    write_table(before, settings, name)
    assert delta_log(settings, name) == ["00000000000000000000.json"]

    table = rf"/{bucket}/lake/silver/t"
    # The first commit PUT after the write uploaded a data file: the write's own commit.
    data = faulty_s3.proxy.on_request(rf"PUT {table}/part-\S+\.parquet HTTP")
    rule = faulty_s3.proxy.on_request(rf"PUT {table}/_delta_log/\d{{20}}\.json HTTP", faulty_s3.stop_server,
                                      after=data)
    try:
        with pytest.raises(Exception):  # noqa: B017 - whichever Spark/S3A error surfaces, the write must fail
            write_table(after, settings, name)
        assert rule.fired
    finally:
        faulty_s3.restart_server()

    assert delta_log(settings, name) == ["00000000000000000000.json"]  # no commit of the failed write
    df = spark.read.format("delta").load(settings.table_uri(name))
    assert table_version(spark, settings, name) == 0
    assert sorted(r.id for r in df.filter("v = 'before'").collect()) == list(range(300)) and df.count() == 300
    committed = {f.rsplit("/", 1)[1] for f in df.inputFiles()}
    orphans = parquet_objects(settings, name) - committed
    assert orphans, "the failed write's data files were uploaded: they exist, yet stay out of the log"

    write_table(after, settings, name)  # the rerun
    df = spark.read.format("delta").load(settings.table_uri(name))
    assert table_version(spark, settings, name) == 1
    assert df.count() == 500 and {r.v for r in df.select("v").distinct().collect()} == {"after"}
    assert sorted(r.id for r in df.collect()) == list(range(500))
