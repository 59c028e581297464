"""Object storage for files (the raw zone, manifests, published files): local folder or S3.

Writes are atomic: a local file appears under its final name only once complete (temp file + rename);
an S3 object is visible only once its PUT (or multipart upload) completes.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from jobs.core.settings import Settings


def split_s3(uri: str) -> tuple[str, str]:
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


class _Body(io.RawIOBase):
    """An S3 response body as a raw stream (read as it is consumed, never whole)."""

    def __init__(self, body):
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.body.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.body.close()
        super().close()


class ObjectStore:
    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def s3(self):
        import boto3
        from botocore.config import Config

        s = self.settings
        return boto3.client(
            "s3",
            endpoint_url=s.s3_endpoint or None,
            aws_access_key_id=s.s3_access_key or None,
            aws_secret_access_key=s.s3_secret_key or None,
            region_name=s.s3_region,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
                # Plain S3: checksum trailers are not understood by every S3-compatible server.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    @staticmethod
    def is_s3(uri: str) -> bool:
        return uri.startswith(("s3a://", "s3://"))

    def exists(self, uri: str) -> bool:
        if not self.is_s3(uri):
            return Path(uri).is_file()
        bucket, key = split_s3(uri)
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
            return True
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def put_file(self, local_path: str | Path, uri: str) -> None:
        if self.is_s3(uri):
            bucket, key = split_s3(uri)
            self.s3.upload_file(str(local_path), bucket, key)
            return
        target = Path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out, open(local_path, "rb") as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_bytes(self, data: bytes, uri: str) -> None:
        if self.is_s3(uri):
            bucket, key = split_s3(uri)
            self.s3.put_object(Bucket=bucket, Key=key, Body=data)
            return
        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            tmp.write(data)
        try:
            self.put_file(tmp.name, uri)
        finally:
            Path(tmp.name).unlink(missing_ok=True)

    def get_bytes(self, uri: str) -> bytes:
        if self.is_s3(uri):
            bucket, key = split_s3(uri)
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return Path(uri).read_bytes()

    def open(self, uri: str) -> BinaryIO:
        """A binary stream of a file or object, read as it is consumed: memory does not grow with its size."""
        if not self.is_s3(uri):
            return Path(uri).open("rb")
        bucket, key = split_s3(uri)
        return io.BufferedReader(_Body(self.s3.get_object(Bucket=bucket, Key=key)["Body"]), 1 << 20)

    def list(self, prefix_uri: str) -> list[str]:
        """URIs of every object under a prefix (recursively), sorted; temp files excluded."""
        if self.is_s3(prefix_uri):
            bucket, key = split_s3(prefix_uri.rstrip("/") + "/")
            scheme = prefix_uri.split("://", 1)[0]
            uris = []
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                uris += [f"{scheme}://{bucket}/{o['Key']}" for o in page.get("Contents", [])]
            return sorted(uris)
        root = Path(prefix_uri)
        if not root.is_dir():
            return []
        return sorted(str(p) for p in root.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))

    def delete_prefix(self, prefix_uri: str) -> int:
        """Delete every object under a prefix (a whole table with all its versions); returns how many."""
        uris = self.list(prefix_uri)
        if self.is_s3(prefix_uri):
            bucket, _ = split_s3(prefix_uri)
            for i in range(0, len(uris), 1000):
                keys = [{"Key": split_s3(u)[1]} for u in uris[i:i + 1000]]
                self.s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        elif Path(prefix_uri).is_dir():
            import shutil

            shutil.rmtree(prefix_uri)
        return len(uris)

    def ensure_bucket(self) -> None:
        """Create the lake's bucket if missing (local lakes need nothing)."""
        if not self.is_s3(self.settings.lake_uri):
            return
        bucket, _ = split_s3(self.settings.lake_uri)
        existing = {b["Name"] for b in self.s3.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            # Another run may create it in between (two runs landing at once).
            with contextlib.suppress(self.s3.exceptions.BucketAlreadyOwnedByYou):
                self.s3.create_bucket(Bucket=bucket)
