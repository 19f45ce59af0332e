"""The S3-compatible store against moto's standalone server: a real HTTP S3 API served by a
separate process on this machine (a test double of S3, MinIO or Ceph; not one of them). What it
shows: objects put and read back by their SHA-256 through boto3, a missing object reported, a
changed object named, and the app storing an upload there. What it does not show: behaviour of a
real vendor's server (its checksum handling, permissions, consistency)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from api import create_app
from tests.api.conftest import Client
from tests.attachments.helpers import gps_of, jpeg_with_gps
from workflow.attachments import records
from workflow.attachments.storage import S3Store, sha256, store_for
from workflow.config import Settings

boto3 = pytest.importorskip("boto3")
MOTO = Path(sys.executable).parent / "moto_server"
BUCKET = "streetflow-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    if not MOTO.exists() and shutil.which("moto_server") is None:
        pytest.skip("moto's standalone server is not installed (pip install 'moto[server]')")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [str(MOTO if MOTO.exists() else "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # it starts in about a second
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    return s3_endpoint


def test_objects_by_their_hash(s3_env: str) -> None:
    store = store_for(
        Settings(attachment_store=f"s3://{BUCKET}/photos", attachment_s3_endpoint=s3_env)
    )
    assert isinstance(store, S3Store)
    data = jpeg_with_gps()
    digest = store.put(data)
    assert digest == sha256(data)
    assert store.get(digest) == data
    assert store.get("0" * 64) is None
    listed = boto3.client("s3", endpoint_url=s3_env).list_objects_v2(Bucket=BUCKET)
    assert f"photos/{digest[:2]}/{digest[2:4]}/{digest}" in [o["Key"] for o in listed["Contents"]]


@pytest.fixture
def app(db_url: str, s3_env: str, tmp_path: Path) -> Iterator[Flask]:
    os.environ["STREETFLOW_ATTACHMENT_S3_ENDPOINT"] = s3_env
    try:
        app = create_app(
            {
                "DATABASE_URL": db_url,
                "SECRET_KEY": "test-secret",
                "TESTING": True,
                "ATTACHMENT_STORE": f"s3://{BUCKET}/app",
            }
        )
    finally:
        del os.environ["STREETFLOW_ATTACHMENT_S3_ENDPOINT"]
    yield app
    app.extensions["streetflow.engine"].dispose()


def test_an_upload_kept_in_the_bucket(
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    s3_env: str,
    tmp_path: Path,
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    case_id = make_case("UD-01")
    r = clerk.post(
        f"/cases/{case_id}/attachments",
        files={"file": ("p.jpg", jpeg_with_gps(), "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    digest = r.json()["sha256"]
    got = clerk.get(r.json()["url"])
    assert got.status_code == 200 and gps_of(got.content) == {}
    store = S3Store(BUCKET, "app", s3_env)
    assert store.get(digest) == got.content
    assert not (tmp_path / "attachments").exists()  # nothing on this machine's disk
    # Someone overwrites the object: the check names it, the file is not served.
    boto3.client("s3", endpoint_url=s3_env).put_object(
        Bucket=BUCKET, Key=store.key(digest), Body=b"changed"
    )
    with sessions() as s:
        assert [p.problem for p in records.check_files(s, store)] == ["changed"]
    assert clerk.get(r.json()["url"]).status_code == 500
