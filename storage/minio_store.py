"""MinIO (or any S3 wire peer) as object store, through the official ``minio`` client.

Two HTTP pools: one for data with moderate timeouts and a few retries on 5xx, one for ``ping``
with short timeouts and no retries, so a dead endpoint makes /readyz fail within about three
seconds instead of minio's default five-minute timeouts with backoff.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import certifi
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error, ServerError
from minio.helpers import check_bucket_name
from urllib3.util import Retry, Timeout

from .base import ObjectNotFound, StoreError, StoreUnavailable
from .keys import check_key

DATA_TIMEOUT = Timeout(connect=3.0, read=30.0)
PING_TIMEOUT = Timeout(connect=1.0, read=2.0)
_AUTH_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}
# A bucket not created yet holds no objects: it appears on the first put.
_MISSING_CODES = {"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound", "NoSuchBucket"}


def _pool(timeout: Timeout, retries: Retry, secure: bool) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=timeout,
        retries=retries,
        maxsize=16,
        cert_reqs="CERT_REQUIRED" if secure else "CERT_NONE",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
    )


class MinioStore:
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
    ):
        check_bucket_name(bucket)  # a ValueError now beats a puzzling failure on first use
        self.endpoint = endpoint
        self.bucket = bucket
        data_pool = _pool(
            DATA_TIMEOUT,
            Retry(
                total=3,
                connect=2,
                read=1,
                backoff_factor=0.2,
                status_forcelist=[500, 502, 503, 504],
            ),
            secure,
        )
        ping_pool = _pool(PING_TIMEOUT, Retry(total=0, redirect=False), secure)
        self._client = self._make_client(access_key, secret_key, secure, region, data_pool)
        self._ping_client = self._make_client(access_key, secret_key, secure, region, ping_pool)

    def _make_client(self, access_key, secret_key, secure, region, pool) -> Minio:
        return Minio(
            self.endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=pool,
        )

    def __repr__(self) -> str:
        return f"MinioStore(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (safe to call from several processes at once)."""
        try:
            if self._client.bucket_exists(bucket_name=self.bucket):
                return
            self._client.make_bucket(bucket_name=self.bucket)
        except S3Error as exc:
            if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise self._translate(exc, "create bucket") from exc
        except Exception as exc:
            raise self._translate(exc, "create bucket") from exc

    def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        try:
            self._put(key, data, content_type)
        except S3Error as exc:
            if exc.code != "NoSuchBucket":
                raise self._translate(exc, "put", key) from exc
            # A fresh MinIO without the bucket: create it once and try again.
            self.ensure_bucket()
            try:
                self._put(key, data, content_type)
            except Exception as again:
                raise self._translate(again, "put", key) from again
        except Exception as exc:
            raise self._translate(exc, "put", key) from exc

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        self._client.put_object(
            bucket_name=self.bucket,
            object_name=key,
            data=io.BytesIO(data),
            length=len(data),
            content_type=content_type,
        )

    def get(self, key: str) -> bytes:
        check_key(key)
        try:
            response = self._client.get_object(bucket_name=self.bucket, object_name=key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()
        except Exception as exc:
            raise self._translate(exc, "get", key) from exc

    def content_type(self, key: str) -> str:
        """The content type given when the object was stored."""
        check_key(key)
        try:
            stat = self._client.stat_object(bucket_name=self.bucket, object_name=key)
        except Exception as exc:
            raise self._translate(exc, "stat", key) from exc
        return stat.content_type or "application/octet-stream"

    def exists(self, key: str) -> bool:
        try:
            self.content_type(key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        check_key(key)
        try:
            self._client.remove_object(bucket_name=self.bucket, object_name=key)
        except S3Error as exc:
            if exc.code in _MISSING_CODES:
                return
            raise self._translate(exc, "delete", key) from exc
        except Exception as exc:
            raise self._translate(exc, "delete", key) from exc

    def ping(self) -> None:
        """Reachable and credentials accepted; a missing bucket is fine (``put`` creates it)."""
        try:
            self._ping_client.bucket_exists(bucket_name=self.bucket)
        except Exception as exc:
            raise StoreUnavailable(self._describe(exc, "ping")) from exc

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        try:
            for obj in self._client.list_objects(
                bucket_name=self.bucket, prefix=prefix or None, recursive=True
            ):
                if not obj.is_dir and obj.object_name is not None:
                    yield obj.object_name
        except S3Error as exc:
            if exc.code == "NoSuchBucket":
                return
            raise self._translate(exc, "list") from exc
        except Exception as exc:
            raise self._translate(exc, "list") from exc

    def _translate(self, exc: Exception, action: str, key: str | None = None) -> StoreError:
        if isinstance(exc, StoreError):
            return exc
        if isinstance(exc, S3Error):
            if key is not None and exc.code in _MISSING_CODES:
                return ObjectNotFound(key)
            if exc.code in _AUTH_CODES:
                return StoreUnavailable(self._describe(exc, action, key))
            return StoreError(self._describe(exc, action, key))
        if isinstance(exc, urllib3.exceptions.HTTPError | OSError | ServerError):
            return StoreUnavailable(self._describe(exc, action, key))
        if isinstance(exc, MinioException):
            return StoreError(self._describe(exc, action, key))
        raise exc

    def _describe(self, exc: Exception, action: str, key: str | None = None) -> str:
        # Only names and codes: a urllib3 message could carry request details we do not want
        # in logs, and the credentials must never appear.
        what = f"{action} {key!r}" if key else action
        if isinstance(exc, S3Error):
            reason = exc.code or "S3 error"
            if exc.code in _AUTH_CODES:
                return (
                    f"对象存储拒绝了凭据 (object store rejected the credentials: {reason}, {what})"
                )
        elif isinstance(exc, ServerError):
            reason = f"HTTP {exc.status_code}"
        else:
            reason = type(exc).__name__
        return (
            f"对象存储不可用或出错 (object store {self.endpoint}/{self.bucket} failed on "
            f"{what}: {reason})"
        )
