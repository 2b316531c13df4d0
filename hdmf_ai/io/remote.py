"""Reading results files from URLs: ``s3://bucket/key`` and ``https://...``, fetching only the bytes needed.

HDF5 files are read through remfile, a file object that fetches byte ranges on demand in the reading thread
(presigned by botocore for S3); Zarr stores through zarr's ``FsspecStore``, one request per metadata document
or chunk. Both need the ``remote`` extra (``pip install hdmf-ai[remote]``: remfile, fsspec, s3fs, aiohttp).

S3 credentials come from where boto does look: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and
``AWS_SESSION_TOKEN``), ``AWS_PROFILE`` or ``storage_options={"profile": ...}``, the shared credentials and
config files, or the machine's role. Without any, the bucket is read anonymously, as public archives (DANDI,
open-data buckets) are. An S3-compatible store (MinIO, Ceph, moto) is named by
``storage_options={"endpoint_url": "http://host:port"}`` or ``$AWS_ENDPOINT_URL_S3``.

Example: ``hdmf_ai.read("s3://bucket/results.zarr", storage_options={"endpoint_url": "http://127.0.0.1:9000"})``
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import MissingDependencyError, ResultsFileError

__all__ = ["HDF5_MIN_CHUNK", "filesystem", "hdf5_handle", "is_url", "resolve_options", "url_path"]

#: remfile's smallest read of a remote HDF5 file (it reads more at once while h5py reads sequentially):
#: measured in ``benchmarks/remote.py`` (``benchmarks/REMOTE.md``). HDF5 reads metadata in small scattered
#: pieces and data in whole chunks; small reads keep a metadata-only inspect small.
HDF5_MIN_CHUNK = 16 * 1024
#: how long a presigned S3 URL for HDF5 reads lives; it is signed anew before it runs out
PRESIGN_SECONDS = 6 * 3600

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+)://")
_EXPLICIT_S3_CREDENTIALS = ("anon", "key", "secret", "token", "profile", "session")


def is_url(path: object) -> bool:
    """Whether ``path`` is a URL (``s3://``, ``https://``, any fsspec protocol) rather than a local path."""
    if not isinstance(path, str):
        return False
    found = _SCHEME.match(path)
    return found is not None and found.group(1).lower() != "file"


def url_path(url: str) -> str:
    """The path part of a URL (no query string or fragment): what tells its format by its suffix."""
    return urlsplit(url).path


def resolve_options(url: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """fsspec's options for ``url``: the caller's, plus anonymous access to S3 when no credentials exist."""
    options = dict(storage_options or {})
    if urlsplit(url).scheme.lower() in ("s3", "s3a") and not any(k in options for k in _EXPLICIT_S3_CREDENTIALS):
        _imported("botocore.session", url)  # boto's credential chain: MissingDependencyError without it
        options["anon"] = not _aws_credentials_found()
    return options


def _aws_credentials_found() -> bool:
    """Whether boto's usual chain (environment, profile, config files, machine role) yields credentials."""
    # the chain may ask the instance-metadata service and wait for it: once per AWS environment, not per read
    return _credentials_in(tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_"))))


@functools.cache
def _credentials_in(environment: tuple[tuple[str, str], ...]) -> bool:
    import botocore.session

    try:
        return botocore.session.Session().get_credentials() is not None
    except Exception:  # a broken profile or config file: leave the decision (and its error) to s3fs
        return True


def _imported(module: str, url: str) -> Any:
    """Import a package the ``remote`` extra brings, or raise :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as err:  # the package, or one it imports (remfile needs requests): name the missing one
        package = (err.name or module).split(".")[0]
        raise MissingDependencyError(
            f"reading {url} needs {package}, which is not installed: pip install 'hdmf-ai[remote]'", name=package
        ) from err


def filesystem(url: str, options: Mapping[str, Any]) -> tuple[Any, str]:
    core = _imported("fsspec.core", url)
    try:
        fs, fs_path = core.url_to_fs(url, **options)
        return fs, str(fs_path)
    except ImportError as err:  # the protocol's package (s3fs, aiohttp) is missing
        raise MissingDependencyError(f"reading {url} needs {err.name or err}; pip install 'hdmf-ai[remote]'") from err


def hdf5_handle(url: str, options: Mapping[str, Any]) -> Any:
    """The file object h5py reads a remote HDF5 file through: byte ranges fetched on demand.

    remfile fetches with blocking requests in the calling thread. fsspec's files fetch on an event loop in
    another thread while h5py holds its global lock; a garbage collection in that thread which frees an h5py
    object then waits for the lock forever (a full read over s3fs hung so here). HDF5 reads stay in one thread.
    """
    scheme = urlsplit(url).scheme.lower()
    remfile = _imported("remfile", url)  # before any request: a missing package is named, not met midway
    source: str | _PresignedUrl
    if scheme in ("s3", "s3a"):
        source, size = _s3_source(url, options)
    elif scheme in ("http", "https"):
        source, size = url, _http_size(url)
    else:
        raise ResultsFileError(url, f"HDF5 files are read from s3://, http:// or https:// URLs, not {scheme}://")
    # the size is known already: remfile would otherwise start a GET of the whole file to learn it
    return remfile.File(source, _size=size, _min_chunk_size=HDF5_MIN_CHUNK, _max_threads=1)


def _http_size(url: str) -> int:
    """The size of the file at an HTTP(S) URL, from a one-byte range request (presigned URLs refuse HEAD)."""
    requests = _imported("requests", url)
    with requests.get(url, headers={"Range": "bytes=0-0"}, stream=True, timeout=60) as response:
        if response.status_code == 404:
            raise FileNotFoundError(f"no results file at {url}")
        if response.status_code in (401, 403):
            raise PermissionError(f"HTTP {response.status_code} {response.reason}")
        total = response.headers.get("Content-Range", "").rsplit("/", 1)[-1]
        if response.status_code != 206 or not total.isdigit():
            raise ResultsFileError(
                url, f"the server does not answer byte-range requests (HTTP {response.status_code}); download it"
            )
        return int(total)


def _s3_source(url: str, options: Mapping[str, Any]) -> tuple[_PresignedUrl, int]:
    """A presigned URL of an S3 object (signed in this thread, by botocore) and the object's size."""
    parts = urlsplit(url)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    for module in ("botocore.session", "botocore.config", "botocore.exceptions"):
        _imported(module, url)
    try:
        return _head(_s3_client(options), url, bucket, key)
    except _ElsewhereError as moved:  # the bucket lives in another region: sign for that one
        return _head(_s3_client(options, region=moved.region), url, bucket, key)


class _ElsewhereError(Exception):
    def __init__(self, region: str) -> None:
        super().__init__(region)
        self.region = region


def _head(client: Any, url: str, bucket: str, key: str) -> tuple[_PresignedUrl, int]:
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        meta = err.response.get("ResponseMetadata", {})
        region = meta.get("HTTPHeaders", {}).get("x-amz-bucket-region")
        if region and region != client.meta.region_name:
            raise _ElsewhereError(region) from err
        _raise_for_status(url, int(meta.get("HTTPStatusCode", 0)), err)
        raise
    return _PresignedUrl(client, bucket, key), int(head["ContentLength"])


def _raise_for_status(url: str, status: int, err: Exception) -> None:
    if status == 404:
        raise FileNotFoundError(f"no results file at {url}") from err
    if status in (401, 403):
        raise PermissionError(f"HTTP {status}: {err}") from err


def _s3_client(options: Mapping[str, Any], *, region: str | None = None) -> Any:
    """A synchronous botocore S3 client from s3fs-style options (``key``, ``secret``, ``token``, ``profile``,
    ``anon``, ``endpoint_url``, ``client_kwargs``, ``config_kwargs``); boto's chain fills in the rest."""
    import botocore
    import botocore.config
    import botocore.session

    client_kwargs = dict(options.get("client_kwargs") or {})
    config_kwargs = dict(options.get("config_kwargs") or {})
    if options.get("anon"):
        config_kwargs["signature_version"] = botocore.UNSIGNED
    return botocore.session.Session(profile=options.get("profile")).create_client(
        "s3",
        endpoint_url=options.get("endpoint_url") or client_kwargs.get("endpoint_url"),
        region_name=region or client_kwargs.get("region_name"),
        aws_access_key_id=options.get("key"),
        aws_secret_access_key=options.get("secret"),
        aws_session_token=options.get("token"),
        config=botocore.config.Config(**config_kwargs) if config_kwargs else None,
    )


class _PresignedUrl:
    """What remfile asks for a URL each time it reads: a presigned GET URL, signed anew before it expires."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.url, self.renew_at = "", 0.0

    def get_url(self) -> str:
        if time.monotonic() >= self.renew_at:
            self.url = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self.key}, ExpiresIn=PRESIGN_SECONDS
            )
            self.renew_at = time.monotonic() + PRESIGN_SECONDS / 2
        return str(self.url)
