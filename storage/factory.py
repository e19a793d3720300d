"""Pick the object store from settings: MinIO when an S3 endpoint is configured, else a directory."""

from __future__ import annotations

from pathlib import Path

from .base import ObjectStore


def open_store(
    *,
    s3_endpoint: str | None,
    s3_access_key: str = "",
    s3_secret_key: str = "",
    s3_bucket: str = "yunchu",
    s3_secure: bool = False,
    local_root: Path,
) -> ObjectStore:
    """Build the store without touching the network or the disk (MinIO's bucket is created
    on the first write that finds it missing; the directory on the first write)."""
    if s3_endpoint:
        from .minio_store import MinioStore

        return MinioStore(
            endpoint=s3_endpoint,
            access_key=s3_access_key,
            secret_key=s3_secret_key,
            bucket=s3_bucket,
            secure=s3_secure,
        )
    from .local import LocalStore

    return LocalStore(local_root)
