"""Where files live: receipts and large exports, on any S3 endpoint (through the minio
client) or in a folder under $FISCAFLOW_HOME on the embedded default.

Receipts are content-addressed (``receipts/<sha256>``): the same file uploaded twice is
stored once, and a key says nothing about its owner. Detaching a receipt keeps the object
(another transaction may hold the same file; the event history still names it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit

from ledger.errors import InvalidInputError

CHUNK = 64 * 1024

# Types a receipt may have, and the bytes such a file starts with.
RECEIPT_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
    "image/heic": (b"\x00\x00\x00",),
}


class FileTooLargeError(InvalidInputError):
    """More bytes than the limit allows (413)."""

    type = "too-large"
    title = "File too large"


class UnsupportedMediaTypeError(InvalidInputError):
    """A file of a type we do not take, or whose bytes are not the type it claims (415)."""

    type = "unsupported-media-type"
    title = "Unsupported media type"


def sniffed_type(declared: str, head: bytes) -> str:
    """The receipt's type, if it is an allowed one and the bytes agree with it (else
    UnsupportedMediaTypeError: a mislabelled file is refused like an unsupported one)."""
    media = declared.split(";", maxsplit=1)[0].strip().lower()
    if media not in RECEIPT_TYPES:
        raise UnsupportedMediaTypeError(
            f"a receipt is one of {', '.join(sorted(RECEIPT_TYPES))}, not {media or 'untyped'}"
        )
    if not head.startswith(RECEIPT_TYPES[media]):
        raise UnsupportedMediaTypeError(f"the file's bytes are not {media}")
    if media == "image/webp" and head[8:12] != b"WEBP":
        raise UnsupportedMediaTypeError("the file's bytes are not image/webp")
    if media == "image/heic" and head[4:8] != b"ftyp":
        raise UnsupportedMediaTypeError("the file's bytes are not image/heic")
    return media


class BlobStore(Protocol):
    def put(self, key: str, source: IO[bytes], size: int, content_type: str) -> None: ...
    def read(self, key: str) -> Iterator[bytes]: ...
    def exists(self, key: str) -> bool: ...
    def link(self, key: str, expires: dt.timedelta, file_name: str) -> str | None: ...


class FolderStore:
    """Files in a folder (the embedded default): ``<root>/<key>``, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise InvalidInputError("not a key of this store")
        return path

    def put(self, key: str, source: IO[bytes], size: int, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as out:
            shutil.copyfileobj(source, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        Path(out.name).replace(path)

    def read(self, key: str) -> Iterator[bytes]:
        with self._path(key).open("rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def link(self, key: str, expires: dt.timedelta, file_name: str) -> str | None:
        return None  # the API hands out its own signed link


class S3Store:
    """Objects in one bucket of an S3 endpoint (MinIO, AWS, Ceph, moto, ...)."""

    def __init__(
        self, endpoint: str, access_key: str, secret_key: str, bucket: str, region: str | None = None
    ) -> None:
        from minio import Minio

        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        self.client = Minio(
            parts.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=parts.scheme == "https",
            region=region,
        )
        self.bucket = bucket
        if not self.client.bucket_exists(bucket):
            self.client.make_bucket(bucket)

    def put(self, key: str, source: IO[bytes], size: int, content_type: str) -> None:
        self.client.put_object(self.bucket, key, source, size, content_type=content_type)

    def read(self, key: str) -> Iterator[bytes]:
        response = self.client.get_object(self.bucket, key)
        try:
            yield from response.stream(CHUNK)
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        try:
            self.client.stat_object(self.bucket, key)
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise
        return True

    def link(self, key: str, expires: dt.timedelta, file_name: str) -> str | None:
        disposition = {"response-content-disposition": f'attachment; filename="{file_name}"'}
        return str(
            self.client.presigned_get_object(self.bucket, key, expires=expires, response_headers=disposition)
        )


def spool(stream: Iterator[bytes], limit: int) -> tuple[IO[bytes], int, str, bytes]:
    """Copy a stream to a temporary file, refusing more than ``limit`` bytes: the file (at
    its start), its size, its sha256 and its first bytes."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    out = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - the caller closes it
    for chunk in stream:
        size += len(chunk)
        if size > limit:
            out.close()
            raise FileTooLargeError(f"the file is larger than {limit} bytes")
        digest.update(chunk)
        if len(head) < 64:
            head += chunk[: 64 - len(head)]
        out.write(chunk)
    out.seek(0)
    return out, size, digest.hexdigest(), head
