"""Stores for the storage tests: a directory and MinIO's wire protocol (moto's S3 server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage.local import LocalStore
from storage.minio_store import MinioStore
from tests.support.memory_store import MemoryStore

from . import samples

S3_KEY = "testing-access"
S3_SECRET = "testing-secret-DO-NOT-LOG"


@pytest.fixture
def minio_store(s3_endpoint: str, unique_name: str) -> MinioStore:
    return MinioStore(
        endpoint=s3_endpoint, access_key=S3_KEY, secret_key=S3_SECRET, bucket=f"t-{unique_name}"
    )


@pytest.fixture
def local_store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


@pytest.fixture(params=["local", "minio", "memory"])
def store(request) -> Iterator:
    """Every backend, held to the same contract."""
    if request.param == "local":
        yield request.getfixturevalue("local_store")
    elif request.param == "minio":
        yield request.getfixturevalue("minio_store")
    else:
        yield MemoryStore()


@pytest.fixture(scope="session")
def mp4_bytes() -> bytes:
    """2 s, 64x64 H.264 MP4: red for the first second, green after."""
    return samples.video()
