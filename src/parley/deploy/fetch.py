"""Fetching a file from S3 once per machine: one worker downloads, the others wait for it.

This is the seed's `wikipedia_prepare.py` behaviour (one process clones the index while the
others wait until the files appear), done with a file lock so a crashed download is retried
rather than half-read.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from filelock import FileLock

READY_MARK = ".parley-fetched"


class FetchError(RuntimeError):
    """An S3 object could not be fetched; the message names the URL and the cause."""


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise FetchError(f"not an S3 URL (s3://bucket/key): {url!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def fetch_once(
    url: str,
    destination: Path,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    timeout_s: float = 3600.0,
) -> Path:
    """Download `url` into the folder `destination` unless another process already did.

    A `.tar.gz` object is unpacked into the folder; anything else is saved under its own name,
    and an S3 "folder" (a key prefix ending in `/`) is copied object by object. The folder is
    written beside its final place and renamed into it, so readers never see half of it."""
    destination = Path(destination)
    if (destination / READY_MARK).exists():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(destination) + ".lock", timeout=timeout_s):
        if (destination / READY_MARK).exists():  # another worker finished while we waited
            return destination
        staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=destination.parent))
        try:
            _download(url, staging, endpoint_url=endpoint_url, region=region)
            (staging / READY_MARK).write_text(url + "\n", encoding="utf-8")
            if destination.exists():
                shutil.rmtree(destination)
            staging.rename(destination)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return destination


def _download(url: str, folder: Path, *, endpoint_url: str | None, region: str | None) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = parse_s3_url(url)
    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
    try:
        if key.endswith("/"):
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
            keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
            if not keys:
                raise FetchError(f"{url}: no objects under this prefix")
            for item in keys:
                relative = item[len(key) :]
                if not relative or relative.endswith("/"):
                    continue
                target = _inside(folder, relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, item, str(target))
            return
        name = key.rsplit("/", 1)[-1]
        target = folder / name
        s3.download_file(bucket, key, str(target))
    except (BotoCoreError, ClientError) as exc:
        raise FetchError(f"could not download {url}: {exc}") from None
    if name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(target) as archive:
            archive.extractall(folder, filter="data")  # "data" refuses links and paths outside
        target.unlink()


def _inside(folder: Path, relative: str) -> Path:
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise FetchError(f"refusing an S3 key that escapes the folder: {relative!r}")
    return target
