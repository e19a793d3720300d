"""MinioStore over the real S3 wire protocol (moto's server), and failing fast when S3 is gone."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from minio import Minio

from storage.base import StoreUnavailable
from storage.factory import open_store
from storage.local import LocalStore
from storage.minio_store import MinioStore
from tests.plugins.services import free_port

from .conftest import S3_KEY, S3_SECRET


def raw_client(endpoint: str) -> Minio:
    return Minio(endpoint, access_key=S3_KEY, secret_key=S3_SECRET, secure=False)


def test_first_put_creates_the_missing_bucket(minio_store, s3_endpoint):
    client = raw_client(s3_endpoint)
    assert not client.bucket_exists(bucket_name=minio_store.bucket)
    minio_store.put("assets/00/x", b"data", "image/jpeg")
    assert client.bucket_exists(bucket_name=minio_store.bucket)
    stat = client.stat_object(bucket_name=minio_store.bucket, object_name="assets/00/x")
    assert stat.content_type == "image/jpeg"
    assert stat.size == 4


def test_ensure_bucket_is_idempotent(minio_store):
    minio_store.ensure_bucket()
    minio_store.ensure_bucket()
    minio_store.put("k", b"v", "text/plain")
    assert minio_store.get("k") == b"v"


def test_large_object_goes_multipart_and_round_trips(minio_store):
    data = os.urandom(6 * 1024 * 1024 + 17)  # over minio's 5 MiB part size
    minio_store.put("assets/big/video", data, "video/mp4")
    assert minio_store.get("assets/big/video") == data


def test_unreachable_endpoint_raises_store_unavailable_without_secrets():
    store = MinioStore(
        endpoint=f"127.0.0.1:{free_port()}",
        access_key=S3_KEY,
        secret_key=S3_SECRET,
        bucket="bucket-1",
    )
    for call in (store.ping, lambda: store.get("a/b"), lambda: store.put("a/b", b"1", "x/y")):
        with pytest.raises(StoreUnavailable) as caught:
            call()
        assert S3_SECRET not in str(caught.value)
        assert S3_KEY not in str(caught.value)
    assert S3_SECRET not in repr(store)


class SilentServer:
    """Accepts TCP connections and never answers: a hung S3 endpoint."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)

    def close(self):
        self.stopped.set()
        self.thread.join()
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def test_ping_gives_up_on_a_hung_endpoint_after_one_try():
    server = SilentServer()
    try:
        store = MinioStore(
            endpoint=f"127.0.0.1:{server.port}",
            access_key=S3_KEY,
            secret_key=S3_SECRET,
            bucket="bucket-1",
        )
        with pytest.raises(StoreUnavailable, match="ping"):
            store.ping()
        assert len(server.accepted) == 1  # read timeout, no retry
    finally:
        server.close()


def test_open_store_picks_minio_when_an_endpoint_is_set(s3_endpoint, unique_name, tmp_path):
    store = open_store(
        s3_endpoint=s3_endpoint,
        s3_access_key=S3_KEY,
        s3_secret_key=S3_SECRET,
        s3_bucket=f"f-{unique_name}",
        s3_secure=False,
        local_root=tmp_path,
    )
    assert isinstance(store, MinioStore)
    store.ping()
    store.put("x", b"1", "text/plain")
    assert store.get("x") == b"1"


def test_open_store_picks_a_directory_without_an_endpoint(tmp_path):
    store = open_store(
        s3_endpoint=None,
        s3_access_key="",
        s3_secret_key="",
        s3_bucket="yunchu",
        s3_secure=False,
        local_root=tmp_path / "objects",
    )
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path / "objects"


def test_an_invalid_bucket_name_is_refused_at_construction():
    with pytest.raises(ValueError):
        MinioStore(endpoint="127.0.0.1:9", access_key="a", secret_key="b", bucket="B_")
