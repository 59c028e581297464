"""Shared fixtures. The folder says the layer, and the layer is a marker (``-m unit``, ``-m integration``,
``-m e2e``):

* ``tests/unit``: pure functions, no JVM, seconds;
* ``tests/integration``: one Spark session for the whole run, small Delta tables; the S3 server only where a
  test asks for it (``s3_server``); one full pipeline run shared by every test that only reads its outputs
  (``pipeline_run``, in ``tests/integration/conftest.py``);
* ``tests/e2e``: the pipeline through Airflow.

``slow`` marks the tests that need a whole pipeline run (or several); ``make test-fast`` leaves them out.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.core.settings import PROJECT_ROOT, Settings
from tests.s3server import new_server

TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "integration", "e2e")
SAMPLES = PROJECT_ROOT / "samples" / "decp"
TEST_KEY = "test-pseudonymisation-key"  # tests never depend on the lake's generated key
logging.getLogger("py4j").setLevel(logging.WARNING)  # its shutdown chatter outlives pytest's log capture
# Test data is small: Spark runs its small-inputs profile, here and in every process the tests start (Airflow
# tasks, the cluster's driver, concurrent runs inherit the environment; decisions 213, 218).
os.environ.setdefault("OBS_SPARK_SMALL_INPUTS", "true")


def pytest_collection_modifyitems(config, items):
    for item in items:
        layer = Path(str(item.path)).resolve().relative_to(TESTS).parts[0]
        if layer in LAYERS:
            item.add_marker(layer)
        if layer == "e2e":
            item.add_marker("slow")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """The test S3-compatible server (S3Proxy on 127.0.0.1), started the first time a test needs it."""
    server = new_server(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spark():
    """The process's one Spark session (local storage; a lake on the S3 server is reached per bucket)."""
    from jobs.core.spark import get_spark

    session = get_spark(Settings.from_env().replace(spark_shuffle_partitions=2))
    yield session
    session.stop()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def local_settings_at(root: Path, **changes) -> Settings:
    """Settings of a local lake, inbox and output under ``root``."""
    return Settings.from_env().replace(lake_uri=str(root / "lake"), inbox_dir=str(root / "inbox"),
                                       output_dir=str(root / "output"), pseudonymization_key=TEST_KEY, **changes)


@pytest.fixture(scope="session")
def local_settings_factory():
    return local_settings_at


@pytest.fixture
def local_settings(tmp_path) -> Settings:
    return local_settings_at(tmp_path)


def s3_settings_at(server, root: Path, bucket_prefix: str = "lake", **changes) -> Settings:
    """Settings whose lake is a fresh bucket on the test S3 server (s3a://), inbox and output under ``root``."""
    return Settings.from_env().replace(
        lake_uri=f"s3a://{bucket_prefix}-{uuid.uuid4().hex[:8]}/lake", inbox_dir=str(root / "inbox"),
        output_dir=str(root / "output"), s3_endpoint=server.endpoint, s3_access_key=server.access_key,
        s3_secret_key=server.secret_key, pseudonymization_key=TEST_KEY, **changes)


@pytest.fixture
def s3_settings(s3_server, tmp_path) -> Settings:
    return s3_settings_at(s3_server, tmp_path)


def copy_samples(inbox: Path, *patterns: str) -> list[Path]:
    target = inbox / "decp"
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for pattern in patterns or ("*/*.json",):
        for f in sorted(SAMPLES.glob(pattern)):
            (target / f.name).write_bytes(f.read_bytes())
            out.append(target / f.name)
    return out
