"""File storage against a real S3 endpoint (moto's server on loopback, through the minio
client) and the folder store of the embedded default: the same behaviour from both."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from commands.files import BlobStore, FolderStore, S3Store, sniffed_type
from ledger.errors import InvalidInputError
from tests.moto_s3 import ACCESS_KEY, SECRET_KEY, moto_server

pytestmark = pytest.mark.integration
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 400  # about 100 KiB, several chunks


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(params=["s3", "folder"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        return S3Store(
            endpoint,
            ACCESS_KEY,
            SECRET_KEY,
            f"receipts-{hashlib.sha1(str(tmp_path).encode()).hexdigest()[:8]}",
        )
    return FolderStore(tmp_path / "files")


def test_a_file_goes_in_and_comes_back_byte_for_byte(store: BlobStore) -> None:
    key = f"receipts/{hashlib.sha256(PDF).hexdigest()}"
    assert not store.exists(key)
    store.put(key, io.BytesIO(PDF), len(PDF), "application/pdf")
    assert store.exists(key)
    assert b"".join(store.read(key)) == PDF
    store.put(key, io.BytesIO(PDF), len(PDF), "application/pdf")  # content-addressed: same again
    assert b"".join(store.read(key)) == PDF


def test_s3_hands_out_a_presigned_link_that_downloads_the_file(s3_endpoint: str) -> None:
    store = S3Store(s3_endpoint, ACCESS_KEY, SECRET_KEY, "exports-link")
    store.put("exports/h/x.csv", io.BytesIO(b"id,amount\n1,2.00\n"), 17, "text/csv")
    url = store.link("exports/h/x.csv", dt.timedelta(minutes=5), "x.csv")
    assert url is not None
    assert url.startswith(s3_endpoint)
    assert "X-Amz-Signature" in url
    assert httpx.get(url).content == b"id,amount\n1,2.00\n"


def test_the_folder_store_keeps_keys_inside_its_folder(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "files")
    assert store.link("k", dt.timedelta(minutes=1), "n") is None  # the API signs its own links
    with pytest.raises(InvalidInputError):
        store.put("../outside", io.BytesIO(b"x"), 1, "text/plain")
    assert not (tmp_path / "outside").exists()


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("declared", "head", "ok"),
    [
        ("application/pdf", b"%PDF-1.4", True),
        ("image/png", b"\x89PNG\r\n\x1a\n....", True),
        ("image/jpeg; charset=x", b"\xff\xd8\xff\xe0", True),
        ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8", True),
        ("image/png", b"%PDF-1.4", False),  # the bytes disagree with the declared type
        ("text/html", b"<html>", False),
        ("", b"%PDF-1.4", False),
        ("image/webp", b"RIFF\x00\x00\x00\x00WAVE", False),
    ],
)
def test_only_receipt_types_whose_bytes_agree_are_accepted(declared: str, head: bytes, ok: bool) -> None:
    if ok:
        assert sniffed_type(declared, head) == declared.split(";", maxsplit=1)[0]
    else:
        with pytest.raises(InvalidInputError):
            sniffed_type(declared, head)
