"""Fixtures of the fault tests: a dedicated S3 server (stoppable, restartable on the same port and data)
behind a fault relay, and lakes routed to it."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from jobs.core.settings import Settings
from tests.integration.reliability.faultproxy import FaultProxy
from tests.s3server import new_server


@dataclasses.dataclass
class FaultyS3:
    server: object
    proxy: FaultProxy

    def stop_server(self) -> None:
        self.server.stop()

    def restart_server(self) -> None:
        self.proxy.clear()
        if self.server.process is None or self.server.process.poll() is not None:
            self.server.start()

    def settings(self, tmp_path, **changes) -> Settings:
        """A fresh bucket lake on this server, reached through the relay."""
        return Settings.from_env().replace(
            lake_uri=f"s3a://fault-{uuid.uuid4().hex[:8]}/lake", inbox_dir=str(tmp_path / "inbox"),
            output_dir=str(tmp_path / "output"), s3_endpoint=self.proxy.endpoint, s3_access_key=self.server.access_key,
            s3_secret_key=self.server.secret_key, pseudonymization_key="test-" + uuid.uuid4().hex, **changes,
        )


@pytest.fixture(scope="module")
def faulty_s3(tmp_path_factory):
    """Not the session's server: this one gets stopped mid-operation."""
    server = new_server(tmp_path_factory.mktemp("faulty-s3")).start()
    proxy = FaultProxy(server.port)
    yield FaultyS3(server, proxy)
    proxy.close()
    server.stop()


def route_bucket(spark, settings: Settings) -> None:
    """Send S3A requests for this lake's bucket to its server (per-bucket options), failing fast: one
    attempt, short timeouts, so a stopped server gives an error in seconds, not a retry loop of minutes."""
    from jobs.core.storage import split_s3

    bucket, _ = split_s3(settings.lake_uri)
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    options = {
        "endpoint": settings.s3_endpoint, "access.key": settings.s3_access_key, "secret.key": settings.s3_secret_key,
        "attempts.maximum": "1", "retry.limit": "1", "retry.interval": "100ms", "retry.throttle.limit": "1",
        "connection.establish.timeout": "2s", "connection.timeout": "5s",
    }
    for key, value in options.items():
        conf.set(f"fs.s3a.bucket.{bucket}.{key}", value)
