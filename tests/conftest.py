"""Shared fixtures: one S3-compatible server and one Spark session per test session."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.core.settings import PROJECT_ROOT, Settings
from tests.s3server import new_server

SAMPLES = PROJECT_ROOT / "samples" / "decp"
logging.getLogger("py4j").setLevel(logging.WARNING)  # its shutdown chatter outlives pytest's log capture


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = new_server(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spark(s3_server):
    """The process's one Spark session; it can reach the test S3 server and local paths alike."""
    from jobs.core.spark import get_spark

    settings = Settings.from_env().replace(s3_endpoint=s3_server.endpoint, s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key, spark_shuffle_partitions=2,
    )
    session = get_spark(settings)
    yield session
    session.stop()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def local_settings_factory():
    """Settings of a local lake, inbox and output under a given folder."""

    def make(root: Path) -> Settings:
        return Settings.from_env().replace(lake_uri=str(root / "lake"), inbox_dir=str(root / "inbox"),
                                   output_dir=str(root / "output"))

    return make


@pytest.fixture
def local_settings(tmp_path) -> Settings:
    return Settings.from_env().replace(lake_uri=str(tmp_path / "lake"), inbox_dir=str(tmp_path / "inbox"),
        output_dir=str(tmp_path / "output"),
    )


@pytest.fixture
def s3_settings(s3_server, tmp_path) -> Settings:
    """Settings whose lake is a fresh bucket on the test S3 server (s3a://)."""
    return Settings.from_env().replace(
        lake_uri=f"s3a://lake-{uuid.uuid4().hex[:8]}/lake", inbox_dir=str(tmp_path / "inbox"),
        output_dir=str(tmp_path / "output"), s3_endpoint=s3_server.endpoint, s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
    )


def copy_samples(inbox: Path, *patterns: str) -> list[Path]:
    target = inbox / "decp"
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for pattern in patterns or ("*/*.json",):
        for f in sorted(SAMPLES.glob(pattern)):
            (target / f.name).write_bytes(f.read_bytes())
            out.append(target / f.name)
    return out
