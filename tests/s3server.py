"""Start and stop S3Proxy (Apache-2.0, filesystem backend) on 127.0.0.1 for the tests."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.core.settings import PROJECT_ROOT

S3PROXY_JAR = PROJECT_ROOT / "infra" / "s3proxy" / "lib" / "s3proxy.jar"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    data_dir: Path
    process: subprocess.Popen | None = None
    port: int = 0

    def start(self, timeout: float = 60) -> S3Server:
        if not S3PROXY_JAR.exists():
            raise RuntimeError(f"{S3PROXY_JAR} missing: run `make setup`")
        props = self.data_dir.parent / f"s3proxy-{self.port}.properties"
        props.write_text(
            f"s3proxy.endpoint=http://127.0.0.1:{self.port}\n"
            "s3proxy.authorization=aws-v2-or-v4\n"
            f"s3proxy.identity={self.access_key}\n"
            f"s3proxy.credential={self.secret_key}\n"
            "jclouds.provider=filesystem\n"
            f"jclouds.filesystem.basedir={self.data_dir}\n"
        )
        log = (self.data_dir.parent / f"s3proxy-{self.port}.log").open("wb")
        self.process = subprocess.Popen(["java", "-jar", str(S3PROXY_JAR), "--properties", str(props)],
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"S3Proxy exited with {self.process.returncode}, see {log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("S3Proxy did not start in time")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def new_server(base_dir: Path) -> S3Server:
    data = base_dir / "s3data"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # Throw-away credentials made per test session: nothing secret lives in the repository.
    return S3Server(f"http://127.0.0.1:{port}", "test-" + secrets.token_hex(4), secrets.token_hex(16), data, port=port)
