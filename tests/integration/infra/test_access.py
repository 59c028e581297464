"""Access: the pipeline's identity reads and writes every zone; the readers of the published outputs read the
public zone only. Enforced by a real S3 server with per-identity policies (SeaweedFS, on 127.0.0.1), using
the very policy documents that docker-compose.yml gives MinIO (infra/minio/*-policy.json)."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from jobs.core.settings import Settings
from jobs.core.storage import ObjectStore, split_s3
from tests.integration.infra.seaweedfs import SeaweedS3

pytestmark = [pytest.mark.s3, pytest.mark.slow]  # a SeaweedFS server, about 16 s (decision 211)
ZONES = ("raw", "bronze", "silver", "gold", "quarantine", "public")
PRIVATE = [z for z in ZONES if z != "public"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("seaweedfs") / "data"
    data.mkdir()
    s = SeaweedS3(data, bucket=f"lake-{uuid.uuid4().hex[:8]}", prefix="lake").start()
    s.client("admin").create_bucket(Bucket=s.bucket)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def pipeline_settings(server, tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("access")
    return Settings.from_env().replace(lake_uri=f"s3a://{server.bucket}/{server.prefix}", inbox_dir=str(tmp / "inbox"),
        output_dir=str(tmp / "output"), s3_endpoint=server.endpoint,
        s3_access_key=server.identities["pipeline"].access_key,
        s3_secret_key=server.identities["pipeline"].secret_key, pseudonymization_key="test-" + uuid.uuid4().hex)


@pytest.fixture(scope="module")
def written(server, pipeline_settings) -> dict[str, str]:
    """One object per zone, written by the pipeline's identity through the project's own ObjectStore."""
    store = ObjectStore(pipeline_settings)
    keys = {}
    for zone in ZONES:
        uri = f"{pipeline_settings.zone_uri(zone)}/part-{zone}.json"
        store.put_bytes(f'{{"zone": "{zone}"}}'.encode(), uri)
        keys[zone] = split_s3(uri)[1]
    return keys


def _code(call) -> str:
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


def test_pipeline_reads_writes_lists_and_deletes_every_zone(server, pipeline_settings, written):
    s3 = server.client("pipeline")
    for zone, key in written.items():
        assert s3.get_object(Bucket=server.bucket, Key=key)["Body"].read() == f'{{"zone": "{zone}"}}'.encode()
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=server.bucket, Prefix="lake/")["Contents"]}
    assert set(written.values()) <= listed
    s3.put_object(Bucket=server.bucket, Key="lake/silver/_tmp/x", Body=b"x")
    s3.delete_object(Bucket=server.bucket, Key="lake/silver/_tmp/x")
    assert ObjectStore(pipeline_settings).list(pipeline_settings.zone_uri("silver") + "/_tmp") == []


def test_pipeline_lands_files_with_its_own_identity(server, pipeline_settings):
    """The real landing code (bucket check, PUT, manifest) runs under the pipeline's policy."""
    from datetime import UTC, datetime

    from jobs.ingest.landing import land_inbox

    inbox = pipeline_settings.inbox_path / "decp"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "decp_2024-01.json").write_text('{"marches": []}', encoding="utf-8")
    result = land_inbox(pipeline_settings, "decp", "access-run", datetime(2026, 11, 28, tzinfo=UTC))
    assert len(result.landed) == 1
    key = split_s3(result.landed[0]["uri"])[1]
    assert key.startswith("lake/raw/decp/")
    assert _code(lambda: server.client("public-reader").get_object(Bucket=server.bucket, Key=key)) == "AccessDenied"


def test_reader_reads_and_lists_the_public_zone(server, written):
    s3 = server.client("public-reader")
    body = s3.get_object(Bucket=server.bucket, Key=written["public"])["Body"].read()
    assert body == b'{"zone": "public"}'
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=server.bucket, Prefix="lake/public/")["Contents"]]
    assert listed == [written["public"]]


@pytest.mark.parametrize("zone", PRIVATE)
def test_reader_is_refused_outside_the_public_zone(server, written, zone):
    s3 = server.client("public-reader")
    assert _code(lambda: s3.get_object(Bucket=server.bucket, Key=written[zone])) == "AccessDenied"
    assert _code(lambda: s3.head_object(Bucket=server.bucket, Key=written[zone])) in ("403", "AccessDenied")
    assert _code(lambda: s3.list_objects_v2(Bucket=server.bucket, Prefix=f"lake/{zone}/")) == "AccessDenied"


def test_reader_cannot_list_the_whole_lake_nor_write_anywhere(server, written):
    s3 = server.client("public-reader")
    assert _code(lambda: s3.list_objects_v2(Bucket=server.bucket)) == "AccessDenied"
    assert _code(lambda: s3.list_objects_v2(Bucket=server.bucket, Prefix="lake/")) == "AccessDenied"
    for zone in ZONES:
        key = f"lake/{zone}/written-by-reader.json"
        assert _code(lambda k=key: s3.put_object(Bucket=server.bucket, Key=k, Body=b"{}")) == "AccessDenied"
    assert _code(lambda: s3.delete_object(Bucket=server.bucket, Key=written["public"])) == "AccessDenied"
    # Nothing was changed by the refused calls.
    pipeline = server.client("pipeline")
    keys = {o["Key"] for o in pipeline.list_objects_v2(Bucket=server.bucket, Prefix="lake/")["Contents"]}
    assert not any(k.endswith("written-by-reader.json") for k in keys)
    assert written["public"] in keys


def test_unknown_credentials_are_refused(server, written):
    import boto3

    stranger = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id="nobody",
                            aws_secret_access_key="x" * 40, region_name="us-east-1")
    assert _code(lambda: stranger.get_object(Bucket=server.bucket, Key=written["public"])) in (
        "InvalidAccessKeyId", "AccessDenied")
