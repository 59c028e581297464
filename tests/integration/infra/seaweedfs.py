"""Start and stop a SeaweedFS server with its S3 gateway on 127.0.0.1, with per-identity permissions.

Unlike S3Proxy, SeaweedFS (Apache-2.0) enforces IAM policy documents attached to each identity, so the tests can
prove that the public-reader identity is refused outside the public zone. The binary is built from the Go
module proxy by infra/seaweedfs/install.sh into the cache when missing.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from jobs.core.settings import PROJECT_ROOT
from tests.s3server import free_port

POLICY_DIR = PROJECT_ROOT / "infra" / "minio"


def weed_binary() -> str:
    """The SeaweedFS binary, built into the cache first if missing (minutes on a fresh machine)."""
    build = subprocess.run(["bash", str(PROJECT_ROOT / "infra" / "seaweedfs" / "install.sh")], capture_output=True,
                           text=True, timeout=3600)
    if build.returncode != 0:
        raise RuntimeError(f"building SeaweedFS failed:\n{build.stderr[-3000:]}")
    return build.stdout.strip().splitlines()[-1]


def render_policy(name: str, bucket: str, prefix: str) -> str:
    """A policy of infra/minio/ (the ones docker-compose.yml gives MinIO), filled in as minio-init does."""
    text = (POLICY_DIR / f"{name}-policy.json").read_text(encoding="utf-8")
    return text.replace("${BUCKET}", bucket).replace("${PREFIX}", prefix)


@dataclass
class Identity:
    access_key: str
    secret_key: str


@dataclass
class SeaweedS3:
    data_dir: Path
    bucket: str
    prefix: str
    identities: dict[str, Identity] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict:
        """The S3 gateway's identities: an admin (creates buckets, as MinIO's root does in compose), the
        pipeline and the public reader, each bound to its policy document."""
        def creds(name: str) -> list[dict]:
            i = self.identities[name]
            return [{"accessKey": i.access_key, "secretKey": i.secret_key}]

        return {
            "identities": [
                {"name": "admin", "credentials": creds("admin"), "actions": ["Admin"]},
                {"name": "pipeline", "credentials": creds("pipeline"), "policyNames": ["observatoire-pipeline"]},
                {"name": "public-reader", "credentials": creds("public-reader"),
                 "policyNames": ["observatoire-public-reader"]},
            ],
            "policies": [
                {"name": f"observatoire-{name}", "content": render_policy(name, self.bucket, self.prefix)}
                for name in ("pipeline", "public-reader")
            ],
        }

    def start(self, timeout: float = 120) -> SeaweedS3:
        weed = weed_binary()
        self.identities = {name: Identity(f"{name}-{secrets.token_hex(4)}", secrets.token_hex(20))
                           for name in ("admin", "pipeline", "public-reader")}
        config = self.data_dir.parent / "s3-identities.json"
        config.write_text(json.dumps(self.config()), encoding="utf-8")
        self.port = free_port()
        ports = {flag: free_port() for flag in ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                                                "filer.port", "filer.port.grpc", "s3.port.grpc")}
        args = [weed, "server", f"-dir={self.data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-master.volumeSizeLimitMB=64", "-volume.max=20", "-s3", f"-s3.port={self.port}",
                "-s3.port.iceberg=0", "-s3.port.lance=0",
                f"-s3.config={config}", *(f"-{flag}={port}" for flag, port in ports.items())]
        log = (self.data_dir.parent / "seaweedfs.log").open("wb")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited with {self.process.returncode}, see {log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"SeaweedFS S3 gateway did not start in time, see {log.name}")

    def client(self, identity: str):
        import boto3
        from botocore.config import Config

        i = self.identities[identity]
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=i.access_key,
                            aws_secret_access_key=i.secret_key, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                          request_checksum_calculation="when_required",
                                          response_checksum_validation="when_required"))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
