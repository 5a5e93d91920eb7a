"""Fetching the index (or weights) from S3 once per machine, the others waiting on the lock."""

from __future__ import annotations

import io
import tarfile
import threading
from pathlib import Path

import boto3
import pytest

from parley.deploy.fetch import READY_MARK, FetchError, fetch_once, parse_s3_url


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_workers_share_one_download(moto_endpoint: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="indexes")
    s3.put_object(
        Bucket="indexes",
        Key="wiki/default.tar.gz",
        Body=_tarball({"manifest.json": b"{}", "vectors.faiss": b"\0" * 1000}),
    )
    destination = tmp_path / "indexes" / "default"
    downloads = 0
    real_client = boto3.client
    counting_lock = threading.Lock()

    def counting(service: str, **kwargs: object) -> object:
        nonlocal downloads
        with counting_lock:
            downloads += 1
        return real_client(service, **kwargs)  # type: ignore[call-overload]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(boto3, "client", counting)
        workers = [
            threading.Thread(
                target=fetch_once,
                args=("s3://indexes/wiki/default.tar.gz", destination),
                kwargs={"endpoint_url": moto_endpoint},
            )
            for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert downloads == 1
    assert (destination / "manifest.json").read_bytes() == b"{}"
    assert (destination / "vectors.faiss").stat().st_size == 1000
    assert (destination / READY_MARK).is_file()
    assert not list(destination.parent.glob(".fetch-*"))  # no staging left behind


def test_missing_object_is_a_clear_error_and_leaves_nothing(
    moto_endpoint: str, tmp_path: Path
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="empty-bucket")
    with pytest.raises(FetchError, match=r"could not download s3://empty-bucket/none\.tar\.gz"):
        fetch_once("s3://empty-bucket/none.tar.gz", tmp_path / "x", endpoint_url=moto_endpoint)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("url", ["https://x/y", "s3://", "s3://bucket", "s3://bucket/"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(FetchError, match="not an S3 URL"):
        parse_s3_url(url)
