"""Per-table writer locks: one writer at a time per Delta table, across processes, runs and schedulers.

Why: Delta on S3 (``S3SingleDriverLogStore``) assumes one writing driver per table — two drivers that commit
the same version overwrite each other's log entry (a lost commit) — and stages that read, compute, then
write (bronze: "files not loaded yet" → append) load twice when two runs interleave. Airflow pools
serialize tasks inside one Airflow; these locks hold between any two processes sharing the lake.

- Local lake: ``fcntl.flock`` on ``<lake>/_locks/<name>.lock``; the kernel releases it if the holder dies.
- S3 lake: an object ``<lake>/_locks/<name>.lock`` created by a conditional PUT (``If-None-Match: *``),
  holding an owner token and a lease renewed by a heartbeat thread; a lease that expired (holder killed)
  is taken over, and so is a leftover of this very process (a release that failed while storage was down).

Locks are re-entrant within a process. ``OBS_TABLE_LOCKS=false`` switches them off (the concurrency test
uses it to show what then goes wrong).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jobs.core.settings import Settings
from jobs.core.storage import ObjectStore, split_s3

log = logging.getLogger(__name__)
PROCESS_OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
_held: dict[str, tuple[int, object]] = {}  # lock uri -> (depth, backend) for this process
_registry = threading.Lock()
CONFLICT_CODES = ("PreconditionFailed", "ConditionalRequestConflict")  # someone else holds the lock object


class TableLockTimeout(TimeoutError):
    """Another writer held the table for longer than ``OBS_TABLE_LOCK_TIMEOUT_SECONDS``."""


def lock_uri(settings: Settings, name: str) -> str:
    return f"{settings.lake_uri}/_locks/{name}.lock"


class _LocalLock:
    def __init__(self, uri: str):
        self.path = Path(uri)
        self.fd: int | None = None

    def acquire(self, timeout: float, poll: float) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise TableLockTimeout(f"{self.path} still locked after {timeout:.0f} s") from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"owner": PROCESS_OWNER, "since": time.time()}).encode())
        self.fd = fd

    def release(self) -> None:
        import fcntl

        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


class _S3Lock:
    def __init__(self, settings: Settings, uri: str):
        import boto3
        from botocore.config import Config

        self.s3 = ObjectStore(settings).s3
        # Releasing and renewing fail fast when storage is down (the lease covers it); acquiring retries.
        self.s3_once = boto3.client(
            "s3", endpoint_url=self.s3.meta.endpoint_url, region_name=self.s3.meta.region_name,
            aws_access_key_id=settings.s3_access_key or None, aws_secret_access_key=settings.s3_secret_key or None,
            config=self.s3.meta.config.merge(Config(retries={"max_attempts": 1, "mode": "standard"})),
        )
        self.bucket, self.key = split_s3(uri)
        self.uri = uri
        self.lease = settings.table_lock_lease_seconds
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def _body(self) -> bytes:
        return json.dumps({"owner": PROCESS_OWNER, "token": self.token, "host": socket.gethostname(),
                           "pid": os.getpid(), "expires_at": time.time() + self.lease}).encode()

    def _current(self, client=None) -> dict | None:
        client = client or self.s3
        try:
            return json.loads(client.get_object(Bucket=self.bucket, Key=self.key)["Body"].read())
        except client.exceptions.NoSuchKey:
            return None

    def acquire(self, timeout: float, poll: float) -> None:
        from botocore.exceptions import ClientError

        deadline = time.monotonic() + timeout
        while True:
            try:
                self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(), IfNoneMatch="*")
                break
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in CONFLICT_CODES:
                    raise
            holder = self._current()
            if holder and (holder.get("expires_at", 0) < time.time() or holder.get("owner") == PROCESS_OWNER):
                # Expired lease (its writer died) or a leftover of this process: take it over. Two processes
                # taking over the same expired lock at once can both succeed; leases make that rare.
                log.warning("taking over lock %s from %s", self.uri, holder.get("owner"))
                self.s3.delete_object(Bucket=self.bucket, Key=self.key)
                continue
            if time.monotonic() > deadline:
                raise TableLockTimeout(f"{self.uri} held by {holder and holder.get('owner')} for over {timeout:.0f} s")
            time.sleep(poll)
        self._beat = threading.Thread(target=self._heartbeat, name=f"lock-heartbeat {self.key}", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                if (self._current(self.s3_once) or {}).get("token") != self.token:
                    log.error("lost lock %s", self.uri)
                    return
                self.s3_once.put_object(Bucket=self.bucket, Key=self.key, Body=self._body())
            except Exception as exc:  # storage down: the next beat retries, the lease covers the gap
                log.warning("heartbeat of %s failed: %s", self.uri, exc)

    def release(self) -> None:
        self._stop.set()
        try:
            if (self._current(self.s3_once) or {}).get("token") == self.token:
                self.s3_once.delete_object(Bucket=self.bucket, Key=self.key)
        except Exception as exc:  # storage down: the lease expires, or this process takes it over on retry
            log.warning("could not release %s: %s", self.uri, exc)


@contextmanager
def table_lock(settings: Settings, name: str) -> Iterator[None]:
    """Hold the writer lock of lake table (or stage) ``name`` for the duration of the block."""
    if not settings.table_locks:
        yield
        return
    uri = lock_uri(settings, name)
    with _registry:
        depth, backend = _held.get(uri, (0, None))
        if depth:
            _held[uri] = (depth + 1, backend)
    if not depth:
        backend = _S3Lock(settings, uri) if ObjectStore.is_s3(uri) else _LocalLock(uri)
        backend.acquire(settings.table_lock_timeout_seconds, poll=0.5)
        with _registry:
            _held[uri] = (1, backend)
    try:
        yield
    finally:
        with _registry:
            depth, backend = _held[uri]
            if depth > 1:
                _held[uri] = (depth - 1, backend)
            else:
                del _held[uri]
        if depth == 1:
            backend.release()
