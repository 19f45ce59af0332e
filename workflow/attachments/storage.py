"""The content-addressed store: a file is kept under its SHA-256, written once, never changed.
The same photo added twice is stored once. Two stores:

- a folder (default: the instance folder's `attachments/`), files at `ab/cd/abcd…` (the first
  two pairs of hex digits as folders, so no folder grows huge);
- an S3-compatible bucket (STREETFLOW_ATTACHMENT_STORE=s3://bucket/prefix, for several
  machines), through boto3 (`pip install streetflow[s3]`), keys `prefix/ab/cd/abcd…`.

The database and the trail name each file by its hash; the store holds the bytes. A file that
no longer hashes to its name is named by `streetflow attachments verify`."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from workflow.config import Settings

_HEX = re.compile(r"^[0-9a-f]{64}$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _relative(digest: str) -> str:
    if not _HEX.match(digest):
        raise ValueError(f"not a SHA-256: {digest!r}")
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


class Store(Protocol):
    def put(self, data: bytes) -> str:
        """Keep DATA; its SHA-256."""

    def get(self, digest: str) -> bytes | None:
        """The bytes kept under DIGEST, or None."""

    def describe(self) -> str: ...


class FolderStore:
    """Files in a folder on this machine (back it up with the database: docs/deployment.md)."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / _relative(digest)

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        path = self.path(digest)
        if path.exists():
            return digest  # the same content is there already
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed: a reader never sees half a file, a crash leaves none.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes | None:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            return None

    def describe(self) -> str:
        return str(self.root)


class S3Store:
    """Objects in an S3-compatible bucket (MinIO, Ceph, a cloud's object storage). Credentials
    come from boto3's own sources (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile);
    STREETFLOW_ATTACHMENT_S3_ENDPOINT names a server other than AWS."""

    def __init__(
        self, bucket: str, prefix: str = "", endpoint: str | None = None, client: Any = None
    ):
        if client is None:
            try:
                import boto3
            except ImportError:
                raise RuntimeError(
                    "an s3:// attachment store needs boto3: pip install 'streetflow[s3]'"
                ) from None
            client = boto3.client("s3", endpoint_url=endpoint or None)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def key(self, digest: str) -> str:
        rel = _relative(digest)
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        # The checksum makes the server refuse bytes that did not arrive as sent.
        import base64

        self.client.put_object(
            Bucket=self.bucket,
            Key=self.key(digest),
            Body=data,
            ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode("ascii"),
        )
        return digest

    def get(self, digest: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(digest))
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        body: bytes = answer["Body"].read()
        return body

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def store_for(settings: Settings) -> Store:
    """The store the settings name: STREETFLOW_ATTACHMENT_STORE (a folder, or s3://bucket/prefix),
    by default the instance folder's attachments/."""
    where = settings.attachment_store.strip()
    if where.startswith("s3://"):
        bucket, _, prefix = where[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"STREETFLOW_ATTACHMENT_STORE is {where!r}: say s3://bucket/prefix")
        return S3Store(bucket, prefix, settings.attachment_s3_endpoint or None)
    return FolderStore(Path(where) if where else settings.instance / "attachments")
